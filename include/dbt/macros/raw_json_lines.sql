{#- The raw lines of one registered raw table, with the JSON object of each line (NULL when the
    line is not a JSON object, flagged by is_object), its file, line number and landing partition. -#}
{% macro raw_json_lines(raw_relation, where=none) -%}
    select
        {{ raw_line_origin() }},
        cast(dt as date) as partition_date,
        _record as raw_record,
        case when {{ is_json_object('_record') }} then _record end as json_record,
        {{ is_json_object('_record') }} as is_object
    from {{ raw_relation }}
    {%- if where %}
    where {{ where }}
    {%- endif %}
{%- endmacro %}


{#- The quarantine table's rows: everything a check macro flagged, with where it came from. -#}
{% macro quarantined_lines(source_table, checked_relation) -%}
    select
        '{{ source_table }}' as source_table,
        file_path,
        line_number,
        partition_date,
        raw_record,
        reason_code,
        reason
    from {{ checked_relation }}
    where reason_code is not null
{%- endmacro %}


{#- Where a raw line came from. The local crawler records each line's file and number. On Athena
    the Glue crawler's grok classifier gives one row per line with the text only: the file comes
    from the "$path" pseudo column, and no line number survives, so it stays NULL there. -#}
{% macro raw_line_origin() -%}
  {{ return(adapter.dispatch('raw_line_origin', 'lakehouse')()) }}
{%- endmacro %}

{% macro duckdb__raw_line_origin() -%}
  _file as file_path,
        _line as line_number
{%- endmacro %}

{% macro athena__raw_line_origin() -%}
  "$path" as file_path,
        cast(null as bigint) as line_number
{%- endmacro %}
