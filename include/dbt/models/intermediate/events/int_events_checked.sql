{#- Every raw event line of the run's landing partitions, parsed once and checked: typed fields,
    and the reason the line cannot be used (NULL when it can). stg_raw_events selects the usable
    lines, quarantine_raw_events the rest, and the tests read this table instead of the raw files.

    An event_id is kept once (deduplicated_lines): its first occurrence (earliest landing
    partition, then file and line) within the run's partitions and the duplicate_lookback_days
    partitions before them. The look-back partitions are read from this table, and checked in
    this run when they have not been yet, so the outcome does not depend on the order dates are
    built in; runs of different dates (a backfill) each replace only their own partitions here
    (see checked_lines_config). -#}
{{ config(**checked_lines_config()) }}

{%- set event_types = var('accepted_event_types') %}
{%- set lookback_days = var('duplicate_lookback_days') %}
{%- set text_fields = ['event_id', 'user_id', 'event_type', 'page', 'session_id', 'timestamp', 'amount'] %}
{%- set line_columns = ['event_id', 'user_id', 'session_id', 'event_type', 'page', 'amount', 'event_timestamp',
                        'event_date', 'partition_date', 'file_path', 'line_number'] %}

{%- set raw_events = source('raw', 'events') %}
{%- set other_partitions = unchecked_partitions(raw_events, lookback_days) %}

with raw_lines as (

    {{ raw_json_lines(raw_events, other_partitions) }}

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
        nullif(trim(event_id_text), '') as event_id,
        nullif(trim(user_id_text), '') as user_id,
        lower(trim(event_type_text)) as event_type,
        nullif(trim(page_text), '') as page,
        nullif(trim(session_id_text), '') as session_id,
        {{ parse_utc_timestamp('timestamp_text') }} as event_timestamp,
        {{ parse_amount('amount_text') }} as amount
    from fields

),

checked_codes as (

    select
        *,
        cast(event_timestamp as date) as event_date,
        case
            when length(raw_record) > {{ var('max_record_chars') }} then 'oversized_record'
            when {{ has_invalid_encoding('raw_record') }} then 'invalid_encoding'
            when not is_object then 'malformed_json'
            when {{ non_scalar_refusal(text_fields) }} is not null then 'invalid_field_type'
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

checked as (

    select
        {{ line_columns | join(',\n        ') }},
        raw_record,
        check_code,
        case
            when check_code = 'oversized_record' then {{ oversized_reason() }}
            when check_code = 'invalid_encoding' then {{ invalid_encoding_reason() }}
            when check_code = 'malformed_json' then 'line is not a JSON object'
            when check_code = 'invalid_field_type' then {{ non_scalar_refusal(text_fields) }}
            when check_code = 'missing_event_id' then 'event_id is missing or empty'
            when check_code = 'missing_user_id' then 'user_id is missing or empty'
            when check_code = 'invalid_timestamp' then 'timestamp ' || {{ timestamp_refusal('timestamp_text') }}
            when check_code = 'unknown_event_type'
                then 'event_type ' || coalesce('"' || event_type || '"', 'is missing and') || ' is not an accepted event type'
            when check_code = 'invalid_amount' then 'amount ' || {{ amount_refusal('amount_text') }}
            when check_code = 'late_event'
                then 'event date ' || cast(event_date as varchar)
                     || ' is outside its landing partition dt=' || cast(partition_date as varchar)
        end as check_reason
    from checked_codes

),

earlier as (

    {#- The event ids accepted in the look-back partitions by earlier runs, with where they were
        first seen. -#}
    {%- if lookback_days > 0 and this_is_built() %}
    select
        event_id,
        min_by({{ occurrence_at() }}, partition_date) as first_seen_at
    from {{ this }}
    where reason_code is null
        and partition_date >= cast('{{ days_before_interval(lookback_days) }}' as date)
        and partition_date < cast('{{ data_interval_start() }}' as date)
    group by event_id
    {%- else %}
    select cast(null as varchar) as event_id, cast(null as varchar) as first_seen_at
    where 1 = 0
    {%- endif %}

),

deduplicated as (

    {{ deduplicated_lines('checked', 'earlier', 'event_id', raw_events, other_partitions) }}

),

reasons as (

    select
        *,
        case when is_duplicate then 'duplicate' else check_code end as reason_code,
        case
            when is_duplicate then 'duplicate of event_id ' || event_id || ' first seen at ' || first_seen_at
            else check_reason
        end as reason
    from deduplicated

),

final as (

    select
        {{ line_columns | join(',\n        ') }},
        reason_code,
        reason,
        {{ kept_raw_record() }}
    from reasons

)

select * from final
