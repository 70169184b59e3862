{#- Dates and durations: DuckDB and Trino spell these differently. -#}

{% macro date_spine(start_date, end_date) -%}
  {{ return(adapter.dispatch('date_spine', 'lakehouse')(start_date, end_date)) }}
{%- endmacro %}

{% macro duckdb__date_spine(start_date, end_date) -%}
    select cast(range as date) as date_day
    from range(date '{{ start_date }}', date '{{ end_date }}', interval 1 day)
{%- endmacro %}

{% macro athena__date_spine(start_date, end_date) -%}
    select date_day
    from unnest(sequence(date '{{ start_date }}', date_add('day', -1, date '{{ end_date }}'), interval '1' day)) as spine (date_day)
{%- endmacro %}


{#- Monday = 1 ... Sunday = 7. -#}
{% macro iso_day_of_week(date_expression) -%}
  {{ return(adapter.dispatch('iso_day_of_week', 'lakehouse')(date_expression)) }}
{%- endmacro %}

{% macro duckdb__iso_day_of_week(date_expression) -%}
  isodow({{ date_expression }})
{%- endmacro %}

{% macro athena__iso_day_of_week(date_expression) -%}
  day_of_week({{ date_expression }})
{%- endmacro %}


{% macro minutes_between(start_timestamp, end_timestamp) -%}
  {{ return(adapter.dispatch('minutes_between', 'lakehouse')(start_timestamp, end_timestamp)) }}
{%- endmacro %}

{% macro duckdb__minutes_between(start_timestamp, end_timestamp) -%}
  cast(epoch({{ end_timestamp }}) - epoch({{ start_timestamp }}) as double) / 60
{%- endmacro %}

{% macro athena__minutes_between(start_timestamp, end_timestamp) -%}
  cast(date_diff('second', {{ start_timestamp }}, {{ end_timestamp }}) as double) / 60
{%- endmacro %}


{% macro month_start(year_expression, month_expression) -%}
  cast(cast({{ year_expression }} as varchar) || '-' || lpad(cast({{ month_expression }} as varchar), 2, '0') || '-01' as date)
{%- endmacro %}
