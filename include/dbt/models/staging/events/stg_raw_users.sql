with users as (

    {{ users_by_recency(ref('int_users_checked')) }}

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
    from users
    where reason_code is null

)

select * from final
