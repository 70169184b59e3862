{#- Local target: a model becomes an Iceberg table in the local catalog, written by the
    project's dbt-duckdb plugin (lakehouse.iceberg_writer). The relation dbt sees in DuckDB is a
    view over the data files of the table's current snapshot, so tests and downstream models read
    exactly what is committed.

    Config:
      partitioned_by   Athena syntax, e.g. ['day(event_timestamp)'], applied when the table is created
      interval_column  date column; when set, a run replaces only the rows whose value lies in the
                       run's data interval, and refuses rows outside it -#}
{% materialization iceberg, adapter='duckdb' %}

  {%- set identifier = this.schema ~ '.' ~ this.identifier -%}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set staged_relation = make_temp_relation(this.incorporate(type='table'), suffix='__iceberg_stage') -%}
  {%- set staged_path = env_var('LAKEHOUSE_HOME') ~ '/warehouse/staging/' ~ identifier ~ '.parquet' -%}
  {%- set interval_column = config.get('interval_column') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('stage_model') -%}
    {{ create_table_as(True, staged_relation, sql) }}
  {%- endcall %}

  {%- set overwrite_filter = none -%}
  {%- if interval_column and not should_full_refresh() -%}
    {%- set overwrite_filter = interval_column ~ " >= '" ~ data_interval_start() ~ "' and "
                               ~ interval_column ~ " < '" ~ data_interval_end() ~ "'" -%}
    {%- set outside = run_query(
          'select count(*) from ' ~ staged_relation ~ ' where not (' ~ in_data_interval(interval_column) ~ ')'
          ~ ' or ' ~ interval_column ~ ' is null') -%}
    {%- if outside.columns[0].values()[0] > 0 -%}
      {{ exceptions.raise_compiler_error(
           this ~ ': ' ~ outside.columns[0].values()[0] ~ ' rows have ' ~ interval_column
           ~ ' outside the data interval [' ~ data_interval_start() ~ ', ' ~ data_interval_end()
           ~ '); a rerun could not replace them, so nothing was written') }}
    {%- endif -%}
  {%- endif -%}

  {% call statement('export_model') -%}
    copy {{ staged_relation }} to '{{ staged_path }}' (format parquet)
  {%- endcall %}

  {%- set columns = adapter.get_columns_in_relation(staged_relation) -%}
  {% do adapter.store_relation('iceberg', this, columns, staged_path, 'parquet', {
        'identifier': identifier,
        'partitioned_by': config.get('partitioned_by', []),
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
