{#- Local target: a DuckDB table that each run extends by its own rows, after deleting what an
    earlier run wrote for the same interval (config interval_column): in one statement each, with
    no staging table, so millions of rows are written once. A model whose columns changed (a name,
    or a type: an insert would cast to the old one, rounding a decimal silently) starts
    the table again; each later run fills in its own interval (see unchecked_partitions for a
    model that must cover every landed partition). -#}
{% materialization interval_append, adapter='duckdb' %}

  {%- set interval_column = config.require('interval_column') -%}
  {%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
  {%- set target_relation = this.incorporate(type='table') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- set rebuild = existing is none or existing.type != 'table' or should_full_refresh() -%}
  {%- if not rebuild -%}
    {%- set probe = make_temp_relation(this.incorporate(type='view'), suffix='__columns') -%}
    {% call statement('probe_columns') -%}
      create or replace temporary view {{ probe }} as {{ sql }}
    {%- endcall %}
    {%- set rebuild = interval_append_columns(probe) != interval_append_columns(existing) -%}
  {%- endif -%}

  {% call statement('main') -%}
    {%- if rebuild %}
      {% if existing is not none %}drop {{ existing.type }} if exists {{ existing }};{% endif %}
      create table {{ target_relation }} as {{ sql }}
    {%- else %}
      delete from {{ target_relation }} where {{ in_data_interval(interval_column) }};
      insert into {{ target_relation }} by name {{ sql }}
    {%- endif %}
  {%- endcall %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}

{% endmaterialization %}


{% macro interval_append_columns(relation) -%}
  {%- set columns = [] -%}
  {%- for column in adapter.get_columns_in_relation(relation) -%}
    {%- do columns.append(column.column ~ ' ' ~ column.dtype) -%}
  {%- endfor -%}
  {{ return(columns) }}
{%- endmacro %}
