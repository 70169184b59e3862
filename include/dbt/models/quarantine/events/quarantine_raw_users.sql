with users as (

    {{ users_by_recency(ref('int_users_checked')) }}

),

final as (

    {{ quarantined_lines('users', 'users') }}

)

select * from final
