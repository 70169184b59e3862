{#- After every dbt invocation that ran tests, append one row per test to
    observability.dbt_test_results. Column names follow Elementary's elementary_test_results, so
    a user who later adds Elementary can read this history with it; airflow_run_id and the data
    interval tie each row to the Airflow run that produced it. -#}

{% macro test_results_history_relation() -%}
  {{ return(api.Relation.create(database=target.database, schema='observability', identifier='dbt_test_results')) }}
{%- endmacro %}

{% macro test_results_history_columns() -%}
  {{ return([
      ('id', 'varchar'),
      ('test_execution_id', 'varchar'),
      ('test_unique_id', 'varchar'),
      ('model_unique_id', 'varchar'),
      ('invocation_id', 'varchar'),
      ('detected_at', 'timestamp'),
      ('database_name', 'varchar'),
      ('schema_name', 'varchar'),
      ('table_name', 'varchar'),
      ('column_name', 'varchar'),
      ('test_type', 'varchar'),
      ('test_sub_type', 'varchar'),
      ('test_name', 'varchar'),
      ('test_short_name', 'varchar'),
      ('test_params', 'varchar'),
      ('severity', 'varchar'),
      ('status', 'varchar'),
      ('failures', 'bigint'),
      ('failed_row_count', 'bigint'),
      ('test_results_description', 'varchar'),
      ('execution_time', 'double'),
      ('airflow_run_id', 'varchar'),
      ('data_interval_start', 'varchar'),
      ('data_interval_end', 'varchar'),
  ]) }}
{%- endmacro %}

{% macro create_test_results_history_table(relation, columns) -%}
  {{ return(adapter.dispatch('create_test_results_history_table', 'lakehouse')(relation, columns)) }}
{%- endmacro %}

{% macro default__create_test_results_history_table(relation, columns) -%}
  create schema if not exists {{ relation.schema }};
  create table if not exists {{ relation }} (
    {%- for name, type in columns %}
    {{ name }} {{ type }}{{ ',' if not loop.last }}
    {%- endfor %}
  )
{%- endmacro %}

{% macro athena__create_test_results_history_table(relation, columns) -%}
  create table if not exists {{ relation.schema }}.{{ relation.identifier }} (
    {%- for name, type in columns %}
    {{ name }} {{ 'string' if type == 'varchar' else type }}{{ ',' if not loop.last }}
    {%- endfor %}
  )
  location '{{ target.s3_data_dir }}observability/dbt_test_results/'
  tblproperties ('table_type' = 'ICEBERG')
{%- endmacro %}

{% macro _sql_text(value) -%}
  {%- if value is none -%}null{%- else -%}'{{ value | string | replace("'", "''") }}'{%- endif -%}
{%- endmacro %}

{% macro record_test_results(results) %}
  {%- if not execute -%}{{ return('') }}{%- endif -%}
  {%- set tests = [] -%}
  {%- for result in results if result.node.resource_type == 'test' -%}
    {%- do tests.append(result) -%}
  {%- endfor -%}
  {%- if tests | length == 0 -%}{{ return('') }}{%- endif -%}

  {%- set relation = test_results_history_relation() -%}
  {%- set columns = test_results_history_columns() -%}
  {% do run_query(create_test_results_history_table(relation, columns)) %}

  {%- set rows = [] -%}
  {%- for result in tests -%}
    {%- set node = result.node -%}
    {%- set metadata = node.test_metadata if node.test_metadata else none -%}
    {%- set model_id = node.attached_node or (node.depends_on.nodes | first) -%}
    {%- set model_node = graph.nodes.get(model_id) if model_id else none -%}
    {%- set row = [
        invocation_id ~ '.' ~ node.unique_id,
        invocation_id ~ '.' ~ node.unique_id,
        node.unique_id,
        model_id,
        invocation_id,
        none,
        model_node.database if model_node else none,
        model_node.schema if model_node else none,
        model_node.alias if model_node else none,
        node.column_name,
        'dbt_test',
        'generic' if metadata else 'singular',
        metadata.name if metadata else node.name,
        node.name,
        tojson(metadata.kwargs) if metadata else none,
        node.config.severity,
        result.status,
        result.failures,
        result.failures,
        result.message,
        result.execution_time,
        airflow_run_id(),
        data_interval_start(),
        data_interval_end(),
    ] -%}
    {%- set values = [] -%}
    {%- for value in row -%}
      {%- if loop.index0 == 5 -%}
        {%- do values.append('cast(current_timestamp as timestamp)') -%}
      {%- elif value is number -%}
        {%- do values.append(value | string) -%}
      {%- else -%}
        {%- do values.append(_sql_text(value)) -%}
      {%- endif -%}
    {%- endfor -%}
    {%- do rows.append('(' ~ values | join(', ') ~ ')') -%}
  {%- endfor -%}

  {% do run_query('insert into ' ~ relation ~ ' values ' ~ rows | join(',\n')) %}
  {{ return('') }}
{% endmacro %}
