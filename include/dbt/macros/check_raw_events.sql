{#- Every raw event line (of the run's interval only, when interval_only), typed, with the reason
    it cannot be used (NULL when it can). stg_raw_events keeps the usable lines; quarantine_raw_events
    keeps the rest of the interval, so the two together account for every line that landed.

    Each landing partition is checked on its own (duplicates are found within a partition), so a
    partition's result does not depend on which others are read: the staging view can hold every
    partition, and runs of different dates read their own slice of it at the same time. -#}
{% macro check_raw_events(raw_relation, interval_only=true) %}
  {%- set event_types = var('accepted_event_types') -%}
    with objects as (

        {{ raw_json_lines(raw_relation, in_data_interval('cast(dt as date)') if interval_only else none) }}

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
        from objects

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

    )

    select
        *,
        case
            when check_code is null and occurrence > 1 then 'duplicate'
            else check_code
        end as reason_code,
        case
            when check_code = 'oversized_record'
                then 'line is ' || cast(length(raw_record) as varchar) || ' characters; the limit is {{ var('max_record_chars') }}'
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
{% endmacro %}
