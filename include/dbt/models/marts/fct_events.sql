{#- Each run replaces exactly the event dates of its data interval (interval_column), so a rerun
    or backfill of a date rewrites that date and never duplicates it. -#}
{{ config(
    partitioned_by=['day(event_timestamp)'],
    interval_column='event_date'
) }}

with events as (

    select * from {{ ref('stg_raw_events') }}

),

users as (

    select * from {{ ref('stg_raw_users') }}

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

select * from final
