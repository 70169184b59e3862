{#- Interval tables: each run replaces exactly the rows of its data interval, so a rerun or a
    backfill of a date rewrites that date and never duplicates it.

    Local (duckdb): the project's `iceberg` materialization overwrites the interval in one
    Iceberg commit.
    Athena: dbt-athena accepts only append, merge and microbatch for Iceberg.
      - with a unique_key: `merge`, one commit. The source holds the interval's new rows plus a
        tombstone for every current row of the interval that the new rows no longer contain;
        tombstones delete, the other rows update or insert (select_interval_rows adds them).
      - without one (rows with no natural key, such as quarantined lines): `append` after a
        pre-hook deletes the interval. That is two commits; a retry after a failure between them
        converges to the same rows. -#}
{% macro interval_table_config(interval_column, partitioned_by, unique_key=none) %}
  {%- set common = {'partitioned_by': partitioned_by, 'interval_column': interval_column, 'table_type': 'iceberg'} -%}
  {%- if target.type == 'duckdb' -%}
    {{ return(dict(common, materialized='iceberg')) }}
  {%- elif unique_key -%}
    {{ return(dict(common,
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=unique_key,
        incremental_predicates=[parsed_interval_predicate('target.' ~ interval_column)],
        delete_condition='src._lakehouse_removed',
        insert_condition='not src._lakehouse_removed',
        on_schema_change='ignore')) }}
  {%- else -%}
    {{ return(dict(common,
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='ignore',
        pre_hook=["{{ delete_data_interval('" ~ interval_column ~ "') }}"])) }}
  {%- endif -%}
{% endmacro %}


{#- The model's final rows; on an incremental Athena merge, with the interval's tombstones. -#}
{% macro select_interval_rows(relation, unique_key, interval_column) -%}
  {{ return(adapter.dispatch('select_interval_rows', 'lakehouse')(relation, unique_key, interval_column)) }}
{%- endmacro %}

{% macro default__select_interval_rows(relation, unique_key, interval_column) -%}
  select * from {{ relation }}
{%- endmacro %}

{% macro athena__select_interval_rows(relation, unique_key, interval_column) -%}
  {#- An offline `dbt compile` (the Athena SQL check) cannot ask Glue whether the table exists;
      it renders the incremental form, the one that needs checking. -#}
  {%- if flags.WHICH == 'compile' or is_incremental() -%}
    select *, false as _lakehouse_removed from {{ relation }}
    union all
    select current_rows.*, true as _lakehouse_removed
    from {{ this }} as current_rows
    where {{ in_data_interval('current_rows.' ~ interval_column) }}
      and not exists (
          select 1 from {{ relation }} as new_rows
          where new_rows.{{ unique_key }} = current_rows.{{ unique_key }}
      )
  {%- else -%}
    select * from {{ relation }}
  {%- endif -%}
{%- endmacro %}


{% macro delete_data_interval(interval_column) -%}
  {%- if is_incremental() -%}
    delete from {{ this }} where {{ in_data_interval(interval_column) }}
  {%- endif -%}
{%- endmacro %}


{#- The merge's predicate on the target, which lets Athena prune the table to the interval. dbt
    takes incremental_predicates from the config, which it renders while parsing, so this reads
    the interval while parsing: on the aws target a run re-parses the models that use it (dbt's
    partial parse redoes those files only); the local target never calls it. -#}
{% macro parsed_interval_predicate(column) -%}
  {{ column }} >= cast('{{ env_var('LAKEHOUSE_DATA_INTERVAL_START', '1900-01-01') }}' as date)
  and {{ column }} < cast('{{ env_var('LAKEHOUSE_DATA_INTERVAL_END', '9999-12-31') }}' as date)
{%- endmacro %}


{#- The checked raw lines (int_ models): each run replaces the rows of its landing partitions,
    so a model task retried after another run has written still finds its own interval there.
    Locally a DuckDB table written in place (the interval_append materialization); on Athena an
    Iceberg table, appended to after a pre-hook deletes the interval. -#}
{% macro checked_lines_config() %}
  {%- if target.type == 'duckdb' -%}
    {{ return({'materialized': 'interval_append', 'interval_column': 'partition_date'}) }}
  {%- else -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'sync_all_columns',
        'pre_hook': ["{{ delete_data_interval('partition_date') }}"],
        'table_type': 'iceberg',
        'partitioned_by': ['partition_date'],
    }) }}
  {%- endif -%}
{% endmacro %}
