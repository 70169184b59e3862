with trips as (

    select * from {{ source('cleaned', 'yellow_trips') }}

),

final as (

    select
        cast(trip_id as varchar) as trip_id,
        cast(vendor_id as bigint) as vendor_id,
        cast(pickup_datetime as timestamp) as pickup_datetime,
        cast(dropoff_datetime as timestamp) as dropoff_datetime,
        cast(passenger_count as bigint) as passenger_count,
        cast(trip_distance as double) as trip_distance_miles,
        cast(ratecode_id as bigint) as ratecode_id,
        cast(store_and_fwd_flag as varchar) as store_and_fwd_flag,
        cast(pickup_location_id as bigint) as pickup_location_id,
        cast(dropoff_location_id as bigint) as dropoff_location_id,
        cast(payment_type as bigint) as payment_type,
        cast(fare_amount as decimal(10, 2)) as fare_amount,
        cast(extra as decimal(10, 2)) as extra_amount,
        cast(mta_tax as decimal(10, 2)) as mta_tax,
        cast(tip_amount as decimal(10, 2)) as tip_amount,
        cast(tolls_amount as decimal(10, 2)) as tolls_amount,
        cast(improvement_surcharge as decimal(10, 2)) as improvement_surcharge,
        cast(total_amount as decimal(10, 2)) as total_amount,
        cast(congestion_surcharge as decimal(10, 2)) as congestion_surcharge,
        cast(airport_fee as decimal(10, 2)) as airport_fee,
        cast(source_file as varchar) as source_file,
        cast(source_row as bigint) as source_row,
        cast(year as integer) as cleaned_year,
        cast(month as integer) as cleaned_month
    from trips

)

select * from final
