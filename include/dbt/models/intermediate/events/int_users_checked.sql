{#- Every raw user line of the run's landing partitions, and of any landed partition not checked
    yet, parsed once and checked: typed fields, and the reason the line cannot be used (NULL when
    it can). Which usable record of a user is current is decided by users_by_recency over this
    table, not over raw files. -#}
{{ config(**checked_lines_config()) }}

{%- set text_fields = ['user_id', 'email', 'name', 'country', 'created_at'] %}

with raw_lines as (

    {{ raw_json_lines(source('raw', 'users'), unchecked_partitions(source('raw', 'users')), with_landed_at=true) }}

),

parsed as (

    select
        *,
        {{ parsed_json('json_record', text_fields) }}
    from raw_lines

),

fields as (

    select
        *,
        {{ scalar_fields(text_fields) }}
    from parsed

),

typed as (

    select
        *,
        nullif(trim(user_id_text), '') as user_id,
        nullif(lower(trim(email_text)), '') as email,
        nullif(trim(name_text), '') as user_name,
        nullif(upper(trim(country_text)), '') as country,
        {{ parse_utc_timestamp('created_at_text') }} as created_at
    from fields

),

checked as (

    select
        *,
        case
            when length(raw_record) > {{ var('max_record_chars') }} then 'oversized_record'
            when {{ has_invalid_encoding('raw_record') }} then 'invalid_encoding'
            when not is_object then 'malformed_json'
            when {{ non_scalar_refusal(text_fields) }} is not null then 'invalid_field_type'
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
        landed_at,
        file_path,
        line_number,
        reason_code,
        case
            when reason_code = 'oversized_record' then {{ oversized_reason() }}
            when reason_code = 'invalid_encoding' then {{ invalid_encoding_reason() }}
            when reason_code = 'malformed_json' then 'line is not a JSON object'
            when reason_code = 'invalid_field_type' then {{ non_scalar_refusal(text_fields) }}
            when reason_code = 'missing_user_id' then 'user_id is missing or empty'
            when reason_code = 'missing_email' then 'email is missing or empty'
            when reason_code = 'missing_name' then 'name is missing or empty'
            when reason_code = 'missing_country' then 'country is missing or empty'
            when reason_code = 'invalid_timestamp' then 'created_at ' || {{ timestamp_refusal('created_at_text') }}
        end as reason,
        -- Kept for every line: a usable record becomes a duplicate when a newer one lands.
        raw_record
    from checked

)

select * from final
