{#- The raw lines of the run's landing partitions (and of the other partitions listed), with the
    JSON object of each line (NULL when the line is not a JSON object, flagged by is_object), its
    file, line number and partition (with_landed_at: and when its file landed). Every raw scan
    filters by raw_partition_filter, so every one is pruned to the partitions it needs. -#}
{% macro raw_json_lines(raw_relation, other_partitions=[], with_landed_at=false) -%}
    select
        {{ raw_line_origin() }},
        {%- if with_landed_at %}
        {{ raw_file_landed_at(raw_relation) }} as landed_at,
        {%- endif %}
        cast(dt as date) as partition_date,
        _record as raw_record,
        case when {{ is_json_object('_record') }} then _record end as json_record,
        {{ is_json_object('_record') }} as is_object
    from {{ raw_relation }}
    {{ raw_partition_filter(other_partitions) }}
{%- endmacro %}


{#- The run's landing partitions, and the other partitions listed. -#}
{% macro raw_partition_filter(other_partitions) -%}
  where ({{ in_run_partitions('dt') }})
    {%- if other_partitions %}
        or dt in ('{{ other_partitions | join("', '") }}')
    {%- endif %}
{%- endmacro %}


{#- The same lines' text and origin only, unparsed: for reading back a few lines by file and line. -#}
{% macro raw_line_texts(raw_relation, other_partitions=[]) -%}
    select
        {{ raw_line_origin() }},
        cast(dt as date) as partition_date,
        _record as raw_record
    from {{ raw_relation }}
    {{ raw_partition_filter(other_partitions) }}
{%- endmacro %}


{#- Landing partitions of a raw table that `this` has never checked, outside the run's own: a
    run checks them too, so a partition is checked even when the runs that depend on it come out
    of order (a backfill running dates side by side). With lookback_days, only those of the days
    just before the run's interval (the window a rule looks back over). In steady state the list
    is empty. Only a build or a run writes the model and asks; an offline compile or the docs list
    none. -#}
{% macro unchecked_partitions(raw_relation, lookback_days=none) -%}
  {%- if not execute or flags.WHICH not in ('run', 'build') -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set query -%}
    select distinct cast(landed.dt as varchar)
    from ({{ landed_partitions(raw_relation) }}) as landed
    where not ({{ in_run_partitions('cast(landed.dt as varchar)') }})
    {%- if lookback_days is not none %}
      and cast(landed.dt as varchar) >= '{{ days_before_interval(lookback_days) }}'
      and cast(landed.dt as varchar) < '{{ data_interval_start() }}'
    {%- endif %}
    {%- if adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) is not none %}
      and cast(landed.dt as date) not in (select distinct partition_date from {{ this }})
    {%- endif %}
    order by 1
  {%- endset -%}
  {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#- Whether the model's own table exists to be read, in a build or a run. Any other command only
    compiles, and assumes it does, so that the SQL reading it is compiled and checked too. -#}
{% macro this_is_built() -%}
  {%- if not execute or flags.WHICH not in ('run', 'build') -%}
    {{ return(true) }}
  {%- endif -%}
  {{ return(load_relation(this) is not none) }}
{%- endmacro %}

{% macro landed_partitions(raw_relation) -%}
  {{ return(adapter.dispatch('landed_partitions', 'lakehouse')(raw_relation)) }}
{%- endmacro %}

{#- The local crawler lists them in raw.landed_partitions. -#}
{% macro duckdb__landed_partitions(raw_relation) -%}
  select dt from {{ raw_relation.schema }}.landed_partitions where table_name = '{{ raw_relation.identifier }}'
{%- endmacro %}

{#- Glue lists a partitioned table's partitions in its "$partitions" table. -#}
{% macro athena__landed_partitions(raw_relation) -%}
  select dt from "{{ raw_relation.database }}"."{{ raw_relation.schema }}"."{{ raw_relation.identifier }}$partitions"
{%- endmacro %}


{#- The quarantine table's rows: every checked line with a reason, with where it came from. -#}
{% macro quarantined_lines(source_table, checked_relation) -%}
    select
        '{{ source_table }}' as source_table,
        file_path,
        line_number,
        partition_date,
        raw_record,
        reason_code,
        reason
    from {{ checked_relation }}
    where reason_code is not null
{%- endmacro %}


{#- The line itself is kept only where it is quarantined: a usable line lives on in its typed
    columns, and keeping its text as well would store the raw zone a second time. -#}
{% macro kept_raw_record() -%}
    case when reason_code is not null then raw_record end as raw_record
{%- endmacro %}


{#- Where a raw line came from. The local crawler records each line's file and number. On Athena
    the Glue crawler's grok classifier gives one row per line with the text only: the file comes
    from the "$path" pseudo column, and no line number survives, so it stays NULL there. -#}
{% macro raw_line_origin() -%}
  {{ return(adapter.dispatch('raw_line_origin', 'lakehouse')()) }}
{%- endmacro %}

{% macro duckdb__raw_line_origin() -%}
  _file as file_path,
        _line as line_number
{%- endmacro %}

{% macro athena__raw_line_origin() -%}
  "$path" as file_path,
        cast(null as bigint) as line_number
{%- endmacro %}


{% macro oversized_reason() -%}
  'line is ' || cast(length(raw_record) as varchar) || ' characters; the limit is {{ var('max_record_chars') }}'
{%- endmacro %}


{#- Where a checked line is, as a duplicate's reason names it: file:line (dt=YYYY-MM-DD). -#}
{% macro occurrence_at() -%}
  file_path || ':' || coalesce(cast(line_number as varchar), '?') || ' (dt=' || cast(partition_date as varchar) || ')'
{%- endmacro %}


{#- When a raw line's file landed: its modification time, in UTC. -#}
{% macro raw_file_landed_at(raw_relation) -%}
  {{ return(adapter.dispatch('raw_file_landed_at', 'lakehouse')(raw_relation)) }}
{%- endmacro %}

{#- The local crawler lists each file's in raw.landed_files. -#}
{% macro duckdb__raw_file_landed_at(raw_relation) -%}
  (select landed.landed_at from {{ raw_relation.schema }}.landed_files as landed
   where landed.table_name = '{{ raw_relation.identifier }}' and landed.file = _file)
{%- endmacro %}

{% macro athena__raw_file_landed_at(raw_relation) -%}
  cast("$file_modified_time" at time zone 'UTC' as timestamp(6))
{%- endmacro %}
