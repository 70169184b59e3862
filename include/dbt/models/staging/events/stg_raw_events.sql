with checked_events as (

    {{ check_raw_events(source('raw', 'events'), interval_only=false) }}

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
