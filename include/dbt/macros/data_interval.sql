{#- The run's data interval, [start, end) in dates, passed by Airflow as dbt vars at run time. -#}
{% macro in_data_interval(column) -%}
  {{ column }} >= cast('{{ var("data_interval_start") }}' as date)
  and {{ column }} < cast('{{ var("data_interval_end") }}' as date)
{%- endmacro %}
