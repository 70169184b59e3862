{#- One row per cleaned trip. Each monthly run replaces exactly the pickup dates of its month
    (see interval_tables.sql), so a rerun or a backfill of a month never duplicates it. -#}
{{ config(**interval_table_config('pickup_date', ['month(pickup_datetime)'], unique_key='trip_id')) }}

with trips as (

    select * from {{ ref('stg_yellow_trips') }}
    where {{ in_data_interval('cast(pickup_datetime as date)') }}

),

zones as (

    select * from {{ ref('dim_zones') }}

),

enriched as (

    select
        trips.trip_id,
        trips.vendor_id,
        trips.pickup_datetime,
        trips.dropoff_datetime,
        cast(trips.pickup_datetime as date) as pickup_date,
        {{ minutes_between('trips.pickup_datetime', 'trips.dropoff_datetime') }} as trip_duration_minutes,
        trips.passenger_count,
        trips.trip_distance_miles,
        trips.ratecode_id,
        trips.payment_type,
        trips.pickup_location_id,
        pickup_zones.borough as pickup_borough,
        pickup_zones.zone_name as pickup_zone,
        trips.dropoff_location_id,
        dropoff_zones.borough as dropoff_borough,
        dropoff_zones.zone_name as dropoff_zone,
        trips.fare_amount,
        trips.extra_amount,
        trips.mta_tax,
        trips.tip_amount,
        trips.tolls_amount,
        trips.improvement_surcharge,
        trips.congestion_surcharge,
        trips.airport_fee,
        trips.total_amount,
        {{ month_start('trips.cleaned_year', 'trips.cleaned_month') }} as cleaned_month,
        trips.source_file,
        trips.source_row
    from trips
    left join zones as pickup_zones
        on trips.pickup_location_id = pickup_zones.location_id
    left join zones as dropoff_zones
        on trips.dropoff_location_id = dropoff_zones.location_id

),

final as (

    select * from enriched

)

{{ select_interval_rows('final', 'trip_id', 'pickup_date') }}
