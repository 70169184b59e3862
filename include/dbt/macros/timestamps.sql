{#- Raw timestamps are ISO-8601 UTC strings ending in Z. Bad ones must become NULL (and then a
    quarantine reason), never an error: dbt's safe_cast is a plain cast on DuckDB. -#}

{% macro try_parse_utc_timestamp(text) -%}
  {{ return(adapter.dispatch('try_parse_utc_timestamp', 'lakehouse')(text)) }}
{%- endmacro %}

{% macro duckdb__try_parse_utc_timestamp(text) -%}
  try_strptime({{ text }}, ['%Y-%m-%dT%H:%M:%SZ', '%Y-%m-%dT%H:%M:%S.%fZ'])
{%- endmacro %}

{% macro athena__try_parse_utc_timestamp(text) -%}
  cast(try(from_iso8601_timestamp({{ text }})) at time zone 'UTC' as timestamp(6))
{%- endmacro %}
