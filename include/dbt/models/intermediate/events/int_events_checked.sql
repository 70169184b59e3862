{#- Every raw event line of the run's landing partitions, parsed once and checked: typed fields,
    and the reason the line cannot be used (NULL when it can). stg_raw_events selects the usable
    lines, quarantine_raw_events the rest, and the tests read this table instead of the raw files.

    Duplicates are looked for within a landing partition, so a partition's result does not depend
    on which others have landed: runs of different dates (a backfill) each replace only their own
    partitions here (see checked_lines_config). -#}
{{ config(**checked_lines_config()) }}

{%- set event_types = var('accepted_event_types') %}

with raw_lines as (

    {{ raw_json_lines(source('raw', 'events')) }}

),

fields as (

    select
        *,
        nullif(trim({{ json_text('json_record', 'event_id') }}), '') as event_id,
        nullif(trim({{ json_text('json_record', 'user_id') }}), '') as user_id,
        lower(trim({{ json_text('json_record', 'event_type') }})) as event_type,
        nullif(trim({{ json_text('json_record', 'page') }}), '') as page,
        nullif(trim({{ json_text('json_record', 'session_id') }}), '') as session_id,
        {{ json_text('json_record', 'timestamp') }} as timestamp_text,
        {{ json_text('json_record', 'amount') }} as amount_text
    from raw_lines

),

typed as (

    select
        *,
        {{ try_parse_utc_timestamp('timestamp_text') }} as event_timestamp,
        try_cast(amount_text as decimal(12, 2)) as amount
    from fields

),

checked as (

    select
        *,
        cast(event_timestamp as date) as event_date,
        case
            when length(raw_record) > {{ var('max_record_chars') }} then 'oversized_record'
            when not is_object then 'malformed_json'
            when event_id is null then 'missing_event_id'
            when user_id is null then 'missing_user_id'
            when event_timestamp is null then 'invalid_timestamp'
            when event_type is null
                or event_type not in ('{{ event_types | join("', '") }}') then 'unknown_event_type'
            when amount_text is not null and amount is null then 'invalid_amount'
            when cast(event_timestamp as date) <> partition_date then 'late_event'
        end as check_code
    from typed

),

ranked as (

    select
        *,
        row_number() over (
            partition by partition_date, check_code is null, event_id order by file_path, line_number
        ) as occurrence,
        first_value(file_path || ':' || cast(line_number as varchar)) over (
            partition by partition_date, check_code is null, event_id order by file_path, line_number
        ) as first_seen_at
    from checked

),

reasons as (

    select
        *,
        case
            when check_code is null and occurrence > 1 then 'duplicate'
            else check_code
        end as reason_code,
        case
            when check_code = 'oversized_record' then {{ oversized_reason() }}
            when check_code = 'malformed_json' then 'line is not a JSON object'
            when check_code = 'missing_event_id' then 'event_id is missing or empty'
            when check_code = 'missing_user_id' then 'user_id is missing or empty'
            when check_code = 'invalid_timestamp'
                then 'timestamp ' || coalesce('"' || timestamp_text || '"', 'is missing and') || ' is not ISO-8601 UTC'
            when check_code = 'unknown_event_type'
                then 'event_type ' || coalesce('"' || event_type || '"', 'is missing and') || ' is not an accepted event type'
            when check_code = 'invalid_amount' then 'amount "' || amount_text || '" is not a number'
            when check_code = 'late_event'
                then 'event date ' || cast(cast(event_timestamp as date) as varchar)
                     || ' is outside its landing partition dt=' || cast(partition_date as varchar)
            when occurrence > 1 then 'duplicate of event_id ' || event_id || ' first seen at ' || first_seen_at
        end as reason
    from ranked

),

final as (

    select
        event_id,
        user_id,
        session_id,
        event_type,
        page,
        amount,
        event_timestamp,
        event_date,
        partition_date,
        file_path,
        line_number,
        reason_code,
        reason,
        {{ kept_raw_record() }}
    from reasons

)

select * from final
