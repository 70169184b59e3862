with zones as (

    select * from {{ source('cleaned', 'taxi_zones') }}

),

final as (

    select
        cast(location_id as bigint) as location_id,
        cast(borough as varchar) as borough,
        cast(zone as varchar) as zone_name,
        cast(service_zone as varchar) as service_zone
    from zones

)

select * from final
