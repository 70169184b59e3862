-- The DuckDB floor for one day of events: what a hand-written query does with the same NDJSON,
-- with nothing around it (no catalog, no quarantine, no tests, no audit, no Iceberg commit).
-- It reads the day's files, types and checks each event by the pipeline's rules, drops repeated
-- event ids, and writes the usable events as Parquet by event date.
-- bench/throughput.py fills in ${events} (a glob of the day's files), ${day} and ${out}.
copy (
    with lines as (
        select *
        from read_json(
            '${events}',
            format = 'newline_delimited',
            columns = {
                event_id: 'VARCHAR', user_id: 'VARCHAR', event_type: 'VARCHAR', page: 'VARCHAR',
                timestamp: 'VARCHAR', session_id: 'VARCHAR', amount: 'VARCHAR'
            },
            ignore_errors = true
        )
    ),

    typed as (
        select
            nullif(trim(event_id), '') as event_id,
            nullif(trim(user_id), '') as user_id,
            lower(trim(event_type)) as event_type,
            nullif(trim(page), '') as page,
            nullif(trim(session_id), '') as session_id,
            -- ISO 8601 with seconds and a UTC offset, converted to UTC (acceptance_rules.sql).
            case
                when regexp_matches(timestamp, '\A(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])\z')
                then try_cast(substr(timestamp, 1, 10) || ' ' || substr(timestamp, 12, 8) || '.'
                              || rpad(regexp_extract(timestamp, '[.]([0-9]{1,9})', 1), 6, '0') as timestamp)
                     - to_minutes(case
                         when upper(right(timestamp, 1)) = 'Z' then 0
                         else (case when regexp_extract(timestamp, '([+-])[0-9]{2}:?[0-9]{2}\z', 1) = '-' then -1 else 1 end)
                              * (cast(regexp_extract(timestamp, '[+-]([0-9]{2}):?[0-9]{2}\z', 1) as integer) * 60
                                 + cast(regexp_extract(timestamp, '[+-][0-9]{2}:?([0-9]{2})\z', 1) as integer))
                     end)
            end as event_timestamp,
            case when regexp_matches(amount, '\A *[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)? *\z')
                then try_cast(trim(amount) as double) end as amount_number,
            amount as amount_text
        from lines
    ),

    amounts as (
        select
            *,
            case when abs(amount_number) < 1e9 and round(amount_number, 6) = amount_number
                then cast(amount_number as decimal(15, 6)) end as amount
        from typed
    ),

    valid as (
        select *, cast(event_timestamp as date) as event_date
        from amounts
        where event_id is not null
            and user_id is not null
            and event_timestamp is not null
            and event_type in ('page_view', 'click', 'search', 'add_to_cart', 'purchase')
            and (amount_text is null or amount is not null)
            and cast(event_timestamp as date) = date '${day}'
    )

    select event_id, user_id, session_id, event_type, page, amount, event_timestamp, event_date
    from valid
    qualify row_number() over (partition by event_id order by event_timestamp) = 1
) to '${out}' (format parquet, partition_by (event_date), overwrite_or_ignore);
