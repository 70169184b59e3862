{{ config(**interval_table_config('partition_date', ['partition_date'])) }}

with checked_events as (

    select * from {{ ref('int_events_checked') }}
    where {{ in_data_interval('partition_date') }}

),

final as (

    {{ quarantined_lines('events', 'checked_events') }}

)

select * from final
