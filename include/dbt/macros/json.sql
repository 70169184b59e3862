{#- Reading raw JSON lines: DuckDB and Trino name these functions differently. -#}

{% macro json_text(record, key) -%}
  {{ return(adapter.dispatch('json_text', 'lakehouse')(record, key)) }}
{%- endmacro %}

{% macro duckdb__json_text(record, key) -%}
  json_extract_string({{ record }}, '$.{{ key }}')
{%- endmacro %}

{% macro athena__json_text(record, key) -%}
  json_extract_scalar({{ record }}, '$.{{ key }}')
{%- endmacro %}


{% macro is_json_object(record) -%}
  {{ return(adapter.dispatch('is_json_object', 'lakehouse')(record)) }}
{%- endmacro %}

{% macro duckdb__is_json_object(record) -%}
  coalesce(case when json_valid({{ record }}) then json_type({{ record }}) = 'OBJECT' end, false)
{%- endmacro %}

{% macro athena__is_json_object(record) -%}
  coalesce(try(json_parse({{ record }})) is not null and substr(trim({{ record }}), 1, 1) = '{', false)
{%- endmacro %}
