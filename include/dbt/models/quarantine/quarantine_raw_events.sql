{{ config(
    partitioned_by=['partition_date'],
    interval_column='partition_date'
) }}

with checked_events as (

    {{ check_raw_events(source('raw', 'events')) }}

),

final as (

    select
        'events' as source_table,
        file_path,
        line_number,
        partition_date,
        raw_record,
        reason_code,
        reason
    from checked_events
    where reason_code is not null

)

select * from final
