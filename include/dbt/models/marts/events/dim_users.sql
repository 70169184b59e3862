with users as (

    select * from {{ ref('stg_raw_users') }}

),

final as (

    select
        user_id,
        email,
        user_name,
        country,
        created_at,
        cast(created_at as date) as created_date,
        partition_date as last_landed_date
    from users

)

select * from final
