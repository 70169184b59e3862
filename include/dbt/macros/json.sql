{#- Reading raw JSON lines: DuckDB and Trino name these functions differently. -#}

{% macro is_json_object(record) -%}
  {{ return(adapter.dispatch('is_json_object', 'lakehouse')(record)) }}
{%- endmacro %}

{% macro duckdb__is_json_object(record) -%}
  coalesce(case when json_valid({{ record }}) then json_type({{ record }}) = 'OBJECT' end, false)
{%- endmacro %}

{% macro athena__is_json_object(record) -%}
  coalesce(try(json_parse({{ record }})) is not null and substr(trim({{ record }}), 1, 1) = '{', false)
{%- endmacro %}


{#- A JSON object's fields, parsed once per line: __json_values, which json_field_value and
    json_field_text read in the next CTE. DuckDB extracts every key in one pass into a list (its
    JSON functions parse the whole text on each call); Athena keeps the parsed JSON. -#}
{% macro parsed_json(record, keys) -%}
  {{ return(adapter.dispatch('parsed_json', 'lakehouse')(record, keys)) }}
{%- endmacro %}

{% macro duckdb__parsed_json(record, keys) -%}
  json_extract({{ record }}, [{% for key in keys %}'$.{{ key }}'{{ ", " if not loop.last }}{% endfor %}]) as __json_values
{%- endmacro %}

{% macro athena__parsed_json(record, keys) -%}
  json_parse({{ record }}) as __json_values
{%- endmacro %}

{#- A field's value as JSON text ('"text"', '12.5', '{...}', 'true', 'null'); NULL when the key is
    absent. -#}
{% macro json_field_value(keys, key) -%}
  {{ return(adapter.dispatch('json_field_value', 'lakehouse')(keys, key)) }}
{%- endmacro %}

{% macro duckdb__json_field_value(keys, key) -%}
  cast(__json_values[{{ keys.index(key) + 1 }}] as varchar)
{%- endmacro %}

{% macro athena__json_field_value(keys, key) -%}
  json_format(json_extract(__json_values, '$.{{ key }}'))
{%- endmacro %}

{#- A scalar field's text: a string unquoted and unescaped, a number as written. -#}
{% macro json_field_text(keys, key) -%}
  {{ return(adapter.dispatch('json_field_text', 'lakehouse')(keys, key)) }}
{%- endmacro %}

{% macro duckdb__json_field_text(keys, key) -%}
  json_extract_string(__json_values[{{ keys.index(key) + 1 }}], '$')
{%- endmacro %}

{% macro athena__json_field_text(keys, key) -%}
  json_extract_scalar(__json_values, '$.{{ key }}')
{%- endmacro %}
