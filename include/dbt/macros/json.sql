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


{#- A field's value as JSON text ('"text"', '12.5', '{...}', 'true', 'null'); NULL when the key is
    absent. acceptance_rules.json_kind tells the kinds apart from it, the same way on both engines. -#}
{% macro json_value(record, key) -%}
  {{ return(adapter.dispatch('json_value', 'lakehouse')(record, key)) }}
{%- endmacro %}

{% macro duckdb__json_value(record, key) -%}
  cast(json_extract({{ record }}, '$.{{ key }}') as varchar)
{%- endmacro %}

{% macro athena__json_value(record, key) -%}
  json_format(json_extract({{ record }}, '$.{{ key }}'))
{%- endmacro %}
