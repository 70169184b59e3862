{#- The raw lines of one registered raw table, with the JSON object of each line (NULL when the
    line is not a JSON object, flagged by is_object), its file, line number and landing partition. -#}
{% macro raw_json_lines(raw_relation, where=none) -%}
    select
        _file as file_path,
        _line as line_number,
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
