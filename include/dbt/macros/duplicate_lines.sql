{#- Which usable checked lines repeat a key seen before: every line of the CTE `checked`, with
    is_duplicate and first_seen_at (where the key was first seen, as occurrence_at() names it).

    A usable line (check_code NULL) is a duplicate when its key was accepted in an earlier run's
    partitions (the CTE `earlier`: key, first_seen_at) or appears on a usable line before it in
    this run (earliest landing partition, then file, then line). `checked` has a check_code and
    the line's raw_record; raw_relation and other_partitions name the raw lines it was read from. -#}
{% macro deduplicated_lines(checked, earlier, key, raw_relation, other_partitions=[]) -%}
  {{ return(adapter.dispatch('deduplicated_lines', 'lakehouse')(checked, earlier, key, raw_relation, other_partitions)) }}
{%- endmacro %}


{#- Athena: one window over all lines. Its raw lines have no line number to join on, and Trino
    evaluates a CTE again at each reference, so the lines are read once and ranked in place. -#}
{% macro default__deduplicated_lines(checked, earlier, key, raw_relation, other_partitions) -%}
    select
        ranked.*,
        coalesce({{ earlier }}.first_seen_at, ranked.first_in_run_at) as first_seen_at,
        ranked.check_code is null
            and ({{ earlier }}.{{ key }} is not null or ranked.occurrence > 1) as is_duplicate
    from (
        select
            *,
            row_number() over (
                partition by check_code is null, {{ key }} order by partition_date, file_path, line_number
            ) as occurrence,
            first_value({{ occurrence_at() }}) over (
                partition by check_code is null, {{ key }} order by partition_date, file_path, line_number
            ) as first_in_run_at
        from {{ checked }}
    ) as ranked
    left join {{ earlier }}
        on ranked.check_code is null and ranked.{{ key }} = {{ earlier }}.{{ key }}
{%- endmacro %}


{#- DuckDB: a window over millions of lines sorts every column they carry, which cost more than
    parsing them. The checked lines are kept once, without the text of the usable ones; only the
    keys that repeat (a hash aggregate) are ranked, and the text of a line found to be a
    duplicate is read back from the raw table by its file and line, as it is not parsed again. -#}
{% macro duckdb__deduplicated_lines(checked, earlier, key, raw_relation, other_partitions) -%}
    with checked_lines as materialized (

        select
            * exclude (raw_record),
            case when check_code is not null then raw_record end as refused_record
        from {{ checked }}

    ),

    repeated_keys as (

        select {{ key }} from checked_lines where check_code is null group by {{ key }} having count(*) > 1
        union
        select {{ key }} from {{ earlier }}

    ),

    ranked as (

        select
            file_path,
            line_number,
            partition_date,
            row_number() over (
                partition by {{ key }} order by partition_date, file_path, line_number
            ) as occurrence,
            first_value({{ occurrence_at() }}) over (
                partition by {{ key }} order by partition_date, file_path, line_number
            ) as first_in_run_at,
            {{ key }}
        from checked_lines
        where check_code is null and {{ key }} in (select {{ key }} from repeated_keys)

    ),

    duplicates as (

        select
            ranked.file_path,
            ranked.line_number,
            ranked.partition_date,
            coalesce({{ earlier }}.first_seen_at, ranked.first_in_run_at) as first_seen_at,
            raw_lines.raw_record
        from ranked
        left join {{ earlier }} on ranked.{{ key }} = {{ earlier }}.{{ key }}
        inner join ({{ raw_line_texts(raw_relation, other_partitions) }}) as raw_lines
            on raw_lines.file_path = ranked.file_path
            and raw_lines.line_number = ranked.line_number
            and raw_lines.partition_date = ranked.partition_date
        where {{ earlier }}.{{ key }} is not null or ranked.occurrence > 1

    )

    select
        checked_lines.* exclude (refused_record),
        duplicates.first_seen_at,
        duplicates.file_path is not null as is_duplicate,
        coalesce(checked_lines.refused_record, duplicates.raw_record) as raw_record
    from checked_lines
    left join duplicates
        on checked_lines.check_code is null
        and checked_lines.file_path = duplicates.file_path
        and checked_lines.line_number = duplicates.line_number
        and checked_lines.partition_date = duplicates.partition_date
{%- endmacro %}
