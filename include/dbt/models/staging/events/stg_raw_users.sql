with checked_users as (

    {{ check_raw_users(source('raw', 'users')) }}

),

final as (

    select
        user_id,
        email,
        user_name,
        country,
        created_at,
        partition_date,
        file_path,
        line_number
    from checked_users
    where reason_code is null

)

select * from final
