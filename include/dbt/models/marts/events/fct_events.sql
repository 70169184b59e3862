{#- Each run replaces exactly the event dates of its data interval (see interval_tables.sql). -#}
{{ config(**interval_table_config('event_date', ['day(event_timestamp)'], unique_key='event_id')) }}
-- The current users' tests gate this model: depends_on: {{ ref('stg_raw_users') }}

with events as (

    select * from {{ ref('stg_raw_events') }}
    where {{ in_data_interval('partition_date') }}

),

users as (

    {#- The users as they stood at the end of the run's interval, so that a rerun or a backfill of
        a date gives the same rows whatever has landed or run since. -#}
    select * from ({{ users_by_recency(ref('int_users_checked'), landed_before=data_interval_end()) }}) as checked
    where reason_code is null

),

enriched as (

    select
        events.event_id,
        events.user_id,
        events.session_id,
        events.event_type,
        events.page,
        events.amount,
        events.event_timestamp,
        events.event_date,
        users.country as user_country,
        users.created_at as user_created_at,
        users.user_id is not null as is_known_user
    from events
    left join users
        on events.user_id = users.user_id

),

final as (

    select * from enriched

)

{{ select_interval_rows('final', 'event_id', 'event_date') }}
