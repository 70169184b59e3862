{#- Every raw user line of the run's landing partitions, and of any landed partition not checked
    yet, parsed once and checked: typed fields, and the reason the line cannot be used (NULL when
    it can). Which usable record of a user is current is decided by users_by_recency over this
    table, not over raw files. -#}
{{ config(**checked_lines_config()) }}

with raw_lines as (

    {{ raw_json_lines(source('raw', 'users'), unchecked_partitions(source('raw', 'users'))) }}

),

fields as (

    select
        *,
        nullif(trim({{ json_text('json_record', 'user_id') }}), '') as user_id,
        nullif(lower(trim({{ json_text('json_record', 'email') }})), '') as email,
        nullif(trim({{ json_text('json_record', 'name') }}), '') as user_name,
        nullif(upper(trim({{ json_text('json_record', 'country') }})), '') as country,
        {{ json_text('json_record', 'created_at') }} as created_at_text
    from raw_lines

),

typed as (

    select
        *,
        {{ try_parse_utc_timestamp('created_at_text') }} as created_at
    from fields

),

checked as (

    select
        *,
        case
            when length(raw_record) > {{ var('max_record_chars') }} then 'oversized_record'
            when not is_object then 'malformed_json'
            when user_id is null then 'missing_user_id'
            when email is null then 'missing_email'
            when user_name is null then 'missing_name'
            when country is null then 'missing_country'
            when created_at is null then 'invalid_timestamp'
        end as reason_code
    from typed

),

final as (

    select
        user_id,
        email,
        user_name,
        country,
        created_at,
        partition_date,
        file_path,
        line_number,
        reason_code,
        case
            when reason_code = 'oversized_record' then {{ oversized_reason() }}
            when reason_code = 'malformed_json' then 'line is not a JSON object'
            when reason_code = 'missing_user_id' then 'user_id is missing or empty'
            when reason_code = 'missing_email' then 'email is missing or empty'
            when reason_code = 'missing_name' then 'name is missing or empty'
            when reason_code = 'missing_country' then 'country is missing or empty'
            when reason_code = 'invalid_timestamp'
                then 'created_at ' || coalesce('"' || created_at_text || '"', 'is missing and') || ' is not ISO-8601 UTC'
        end as reason,
        -- Kept for every line: a usable record becomes a duplicate when a newer one lands.
        raw_record
    from checked

)

select * from final
