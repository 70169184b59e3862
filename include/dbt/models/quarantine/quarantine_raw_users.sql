with checked_users as (

    {{ check_raw_users(source('raw', 'users')) }}

),

final as (

    select
        'users' as source_table,
        file_path,
        line_number,
        partition_date,
        raw_record,
        reason_code,
        reason
    from checked_users
    where reason_code is not null

)

select * from final
