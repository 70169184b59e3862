with checked_users as (

    {{ check_raw_users(source('raw', 'users')) }}

),

final as (

    {{ quarantined_lines('users', 'checked_users') }}

)

select * from final
