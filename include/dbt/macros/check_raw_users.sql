{#- Every raw user line ever landed, typed, with the reason it cannot be used (NULL when it can).
    Users are a current-state dimension: the latest landed record of a user_id wins (later
    partition, then later file and line); older and repeated records count as duplicates. -#}
{% macro check_raw_users(raw_relation) %}
    with objects as (

        {{ raw_json_lines(raw_relation) }}

    ),

    fields as (

        select
            *,
            nullif(trim({{ json_text('json_record', 'user_id') }}), '') as user_id,
            nullif(lower(trim({{ json_text('json_record', 'email') }})), '') as email,
            nullif(trim({{ json_text('json_record', 'name') }}), '') as user_name,
            nullif(upper(trim({{ json_text('json_record', 'country') }})), '') as country,
            {{ json_text('json_record', 'created_at') }} as created_at_text
        from objects

    ),

    checked as (

        select
            *,
            {{ try_parse_utc_timestamp('created_at_text') }} as created_at,
            case
                when length(raw_record) > {{ var('max_record_chars') }} then 'oversized_record'
                when not is_object then 'malformed_json'
                when user_id is null then 'missing_user_id'
                when email is null then 'missing_email'
                when user_name is null then 'missing_name'
                when country is null then 'missing_country'
                when {{ try_parse_utc_timestamp('created_at_text') }} is null then 'invalid_timestamp'
            end as check_code
        from fields

    ),

    ranked as (

        select
            *,
            row_number() over (
                partition by check_code is null, user_id
                order by partition_date desc, file_path desc, line_number desc
            ) as recency,
            first_value(file_path || ':' || cast(line_number as varchar)) over (
                partition by check_code is null, user_id
                order by partition_date desc, file_path desc, line_number desc
            ) as kept_at
        from checked

    )

    select
        *,
        case
            when check_code is null and recency > 1 then 'duplicate'
            else check_code
        end as reason_code,
        case
            when check_code = 'oversized_record'
                then 'line is ' || cast(length(raw_record) as varchar) || ' characters; the limit is {{ var('max_record_chars') }}'
            when check_code = 'malformed_json' then 'line is not a JSON object'
            when check_code = 'missing_user_id' then 'user_id is missing or empty'
            when check_code = 'missing_email' then 'email is missing or empty'
            when check_code = 'missing_name' then 'name is missing or empty'
            when check_code = 'missing_country' then 'country is missing or empty'
            when check_code = 'invalid_timestamp'
                then 'created_at ' || coalesce('"' || created_at_text || '"', 'is missing and') || ' is not ISO-8601 UTC'
            when recency > 1 then 'older or repeated record of user_id ' || user_id || '; kept ' || kept_at
        end as reason
    from ranked
{% endmacro %}
