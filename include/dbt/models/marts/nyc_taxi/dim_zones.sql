{#- TLC's taxi zones. Empty when no lookup file was landed: trips then keep their location ids
    and the run reports the lookup as absent. -#}
with zones as (

    select * from {{ ref('stg_taxi_zones') }}

),

final as (

    select
        location_id,
        borough,
        zone_name,
        service_zone
    from zones

)

select * from final
