{#- One row per calendar day that any landed trip can fall on (TLC publishes yellow trips
    from 2009 on). -#}
with days as (

    {{ date_spine('2009-01-01', '2031-01-01') }}

),

final as (

    select
        date_day,
        year(date_day) as year_number,
        month(date_day) as month_number,
        day(date_day) as day_of_month,
        {{ iso_day_of_week('date_day') }} as iso_day_of_week,
        {{ iso_day_of_week('date_day') }} >= 6 as is_weekend,
        {{ month_start('year(date_day)', 'month(date_day)') }} as month_start_date
    from days

)

select * from final
