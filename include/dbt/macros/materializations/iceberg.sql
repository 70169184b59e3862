{#- Local target: a model becomes an Iceberg table in the local catalog, written by the
    project's dbt-duckdb plugin (lakehouse.platform.local.iceberg_writer). DuckDB writes the model's rows as
    Parquet, one file per partition of the table, and the plugin commits those files as the
    table's data files. The relation dbt sees in DuckDB is a view over the data files of the
    table's current snapshot, so tests and downstream models read exactly what is committed.

    Config:
      partitioned_by   Athena syntax, e.g. ['day(event_timestamp)'], applied when the table is created
      interval_column  date column; when set, a run replaces only the rows whose value lies in the
                       run's data interval, and refuses rows outside it -#}
{% materialization iceberg, adapter='duckdb' %}

  {%- set identifier = this.schema ~ '.' ~ this.identifier -%}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set staged_relation = make_temp_relation(this.incorporate(type='view'), suffix='__iceberg_stage') -%}
  {#- DuckDB makes the folder it exports to, but not its parents; warehouse/staging is the lake's own. -#}
  {%- set staged_dir = env_var('LAKEHOUSE_HOME') ~ '/warehouse/staging/' ~ identifier ~ '-' ~ invocation_id -%}
  {%- set interval_column = config.get('interval_column') -%}
  {%- set partitioned_by = config.get('partitioned_by', []) -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('stage_model') -%}
    create or replace temporary view {{ staged_relation }} as {{ sql }}
  {%- endcall %}

  {#- The model is computed once, straight into Parquet: a file per partition of the table. -#}
  {% call statement('export_model') -%}
    copy (select *, {{ iceberg_partition_key(partitioned_by) }} as __lakehouse_partition from {{ staged_relation }})
    to '{{ staged_dir }}' (format parquet, compression zstd, partition_by (__lakehouse_partition))
  {%- endcall %}
  {% call statement('export_schema') -%}
    copy (select * from {{ staged_relation }} limit 0) to '{{ staged_dir }}.schema.parquet' (format parquet)
  {%- endcall %}

  {%- set overwrite_filter = none -%}
  {%- set written = "read_parquet('" ~ staged_dir ~ "/**/*.parquet')" -%}
  {%- set any_written = run_query("select count(*) from glob('" ~ staged_dir ~ "/**/*.parquet')").columns[0].values()[0] > 0 -%}
  {%- if interval_column and not should_full_refresh() -%}
    {%- set overwrite_filter = interval_column ~ " >= '" ~ data_interval_start() ~ "' and "
                               ~ interval_column ~ " < '" ~ data_interval_end() ~ "'" -%}
    {%- if any_written -%}
      {%- set outside = run_query(
            'select count(*) from ' ~ written ~ ' where not (' ~ in_data_interval(interval_column) ~ ')'
            ~ ' or ' ~ interval_column ~ ' is null').columns[0].values()[0] -%}
      {%- if outside > 0 -%}
        {{ exceptions.raise_compiler_error(
             this ~ ': ' ~ outside ~ ' rows have ' ~ interval_column
             ~ ' outside the data interval [' ~ data_interval_start() ~ ', ' ~ data_interval_end()
             ~ '); a rerun could not replace them, so nothing was written') }}
      {%- endif -%}
    {%- endif -%}
  {%- endif -%}

  {%- set columns = adapter.get_columns_in_relation(staged_relation) -%}
  {% do adapter.store_relation('iceberg', this, columns, staged_dir, 'parquet', {
        'identifier': identifier,
        'partitioned_by': partitioned_by,
        'overwrite_filter': overwrite_filter,
        'run_id': airflow_run_id(),
        'model': model.unique_id,
  }) %}

  {%- set data_files = run_query("select unnest(lakehouse_iceberg_files('" ~ identifier ~ "'))").columns[0].values() -%}

  {% call statement('main') -%}
    create or replace view {{ target_relation }} as
    {% if data_files | length > 0 -%}
      select * from read_parquet([
        {%- for path in data_files %}'{{ path }}'{{ ', ' if not loop.last }}{% endfor -%}
      ], union_by_name = true)
    {%- else -%}
      select
      {%- for column in columns %}
        cast(null as {{ column.dtype }}) as {{ adapter.quote(column.column) }}{{ ',' if not loop.last }}
      {%- endfor %}
      where false
    {%- endif %}
  {%- endcall %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}

{% endmaterialization %}


{#- A DuckDB expression whose value is the same for the rows of one partition of the table and
    different between partitions, for the Athena-syntax partition expressions parse_partition
    reads. The rows of each partition then land in a file of their own, as Iceberg needs. -#}
{% macro iceberg_partition_key(partitioned_by) -%}
  {%- set keys = [] -%}
  {%- for expression in partitioned_by -%}
    {%- set transform = modules.re.match('^\\s*(\\w+)\\s*[(]\\s*(\\w+)\\s*[)]\\s*$', expression) -%}
    {%- if transform is none -%}
      {%- do keys.append('cast(' ~ expression | trim ~ ' as varchar)') -%}
    {%- elif transform.group(1) in ('year', 'month', 'day', 'hour') -%}
      {%- set formats = {'year': '%Y', 'month': '%Y-%m', 'day': '%Y-%m-%d', 'hour': '%Y-%m-%d-%H'} -%}
      {%- do keys.append("strftime(" ~ transform.group(2) ~ ", '" ~ formats[transform.group(1)] ~ "')") -%}
    {%- else -%}
      {{ exceptions.raise_compiler_error(
           this ~ ": the local target cannot partition by " ~ expression ~ "; use year, month, day, hour or a column") }}
    {%- endif -%}
  {%- endfor -%}
  {{ return((keys | join(" || '|' || ")) if keys else "'all'") }}
{%- endmacro %}
