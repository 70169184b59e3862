{#- Users are a current-state dimension: of a user's usable records, the latest landed wins (later
    partition, then the file that landed later, then the later line; file names break a tie only,
    as "users-9.json" sorts after "users-10.json"); the older and repeated ones are duplicates. Every
    checked user line, with reason_code 'duplicate' and its reason for those; with landed_before,
    only the lines landed in partitions before that date, as the users stood then. -#}
{% macro users_by_recency(checked_relation, landed_before=none) %}
    with ranked as (

        select
            *,
            row_number() over (
                partition by reason_code is null, user_id
                order by partition_date desc, landed_at desc nulls last, file_path desc, line_number desc
            ) as recency,
            first_value(file_path || ':' || cast(line_number as varchar)) over (
                partition by reason_code is null, user_id
                order by partition_date desc, landed_at desc nulls last, file_path desc, line_number desc
            ) as kept_at
        from {{ checked_relation }}
        {%- if landed_before %}
        where partition_date < cast('{{ landed_before }}' as date)
        {%- endif %}

    )

    select
        user_id,
        email,
        user_name,
        country,
        created_at,
        partition_date,
        file_path,
        line_number,
        raw_record,
        case when reason_code is null and recency > 1 then 'duplicate' else reason_code end as reason_code,
        case
            when reason_code is null and recency > 1
                then 'older or repeated record of user_id ' || user_id || '; kept ' || kept_at
            else reason
        end as reason
    from ranked
{% endmacro %}
