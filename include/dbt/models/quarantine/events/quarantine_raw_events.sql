{{ config(**interval_table_config('partition_date', ['partition_date'])) }}

with checked_events as (

    {{ check_raw_events(source('raw', 'events')) }}

),

final as (

    {{ quarantined_lines('events', 'checked_events') }}

)

select * from final
