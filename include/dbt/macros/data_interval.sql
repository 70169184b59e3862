{#- The run's data interval, [start, end) in dates, and its Airflow run id. Airflow passes them as
    environment variables (lakehouse.dag.dbt_cosmos), read only while dbt executes: a value dbt reads
    while it parses is recorded in its manifest, and a value that changes with every run would then
    make every run parse the project again. Without Airflow (a `dbt build` by hand) the interval
    covers every landed partition. -#}

{% macro run_setting(name, default) -%}
  {%- if execute -%}
    {{ return(env_var(name, default)) }}
  {%- else -%}
    {{ return(default) }}
  {%- endif -%}
{%- endmacro %}

{% macro data_interval_start() -%}
  {{ return(run_setting('LAKEHOUSE_DATA_INTERVAL_START', '1900-01-01')) }}
{%- endmacro %}

{% macro data_interval_end() -%}
  {{ return(run_setting('LAKEHOUSE_DATA_INTERVAL_END', '9999-12-31')) }}
{%- endmacro %}

{% macro airflow_run_id() -%}
  {{ return(run_setting('LAKEHOUSE_AIRFLOW_RUN_ID', 'manual')) }}
{%- endmacro %}

{% macro in_data_interval(column) -%}
  {{ column }} >= cast('{{ data_interval_start() }}' as date)
  and {{ column }} < cast('{{ data_interval_end() }}' as date)
{%- endmacro %}


{#- The landing partitions of the run: a predicate on the raw tables' partition column, compared
    as text as it is stored (dt=YYYY-MM-DD), so that Athena prunes the partitions before reading
    and DuckDB opens only those partitions' files. -#}
{% macro in_run_partitions(column='dt') -%}
  {{ column }} >= '{{ data_interval_start() }}' and {{ column }} < '{{ data_interval_end() }}'
{%- endmacro %}


{#- A test's `where` config may say in_run_interval(<date column>): it is replaced by the run's
    interval here, when the test runs. Rendered in the YAML instead, the interval would be read
    while dbt parses. -#}
{% macro get_where_subquery(relation) -%}
  {%- set where = config.get('where') -%}
  {%- if not where -%}
    {{ return(relation) }}
  {%- endif -%}
  {%- set filter = namespace(text=where) -%}
  {%- for column in modules.re.findall('in_run_interval[(]\\s*(\\w+)\\s*[)]', where) -%}
    {%- set filter.text = modules.re.sub('in_run_interval[(]\\s*' ~ column ~ '\\s*[)]', in_data_interval(column), filter.text) -%}
  {%- endfor -%}
  {{ return('(select * from ' ~ relation ~ ' where ' ~ filter.text ~ ') dbt_subquery') }}
{%- endmacro %}


{#- The date `days` before the run's interval starts, as text: the start of a look-back window. -#}
{% macro days_before_interval(days) -%}
  {%- set start = modules.datetime.date.fromisoformat(data_interval_start()[:10]) -%}
  {{ return((start - modules.datetime.timedelta(days=days)).isoformat()) }}
{%- endmacro %}
