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
            try_strptime(timestamp, ['%Y-%m-%dT%H:%M:%SZ', '%Y-%m-%dT%H:%M:%S.%fZ']) as event_timestamp,
            try_cast(amount as decimal(12, 2)) as amount,
            amount as amount_text
        from lines
    ),

    valid as (
        select *, cast(event_timestamp as date) as event_date
        from typed
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
