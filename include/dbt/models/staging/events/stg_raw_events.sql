with checked_events as (

    select * from {{ ref('int_events_checked') }}

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
        line_number
    from checked_events
    where reason_code is null

)

select * from final
