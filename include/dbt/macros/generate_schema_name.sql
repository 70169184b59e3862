{#- Layer schemas (staging, curated, quarantine) keep their names on every target, so the DuckDB
    schemas, the local Iceberg namespaces and the Glue databases line up one to one. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}
    {{ target.schema }}
  {%- else -%}
    {{ custom_schema_name | trim }}
  {%- endif -%}
{%- endmacro %}
