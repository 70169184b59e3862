{#- What a raw field must look like to be accepted, written once for both targets. Each rule is a
    regular expression that DuckDB (RE2) and Trino (Joni) read the same way (anchored with \A and
    \z: in Joni, ^ and $ match at any line break inside the text), applied to the text
    before anything is parsed, so neither engine's own parser decides what gets in. Only the last
    steps, a cast of text already known to be well formed and an offset added, are dispatched.
    The accepted forms are listed in docs/runbooks.md; tests/dbt/test_acceptance_rules.py holds a
    table of vectors with the outcome each must have. -#}


{#- ISO-8601 / RFC 3339 date-time with seconds and a UTC offset: 'T', 't' or a space between
    date and time; 0 to 9 fraction digits; 'Z', 'z', ±HH:MM or ±HHMM. Without an offset the
    instant is unknown, so a naive time or a bare date is refused, and so is a leap second (':60'),
    which neither engine's timestamp can hold. Years 1900-2999. -#}
{% macro utc_timestamp_pattern() -%}
  \A(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])\z
{%- endmacro %}


{#- The UTC instant of a text that matches the pattern, to the microsecond (fraction digits past
    the sixth are dropped, on both targets); NULL for anything else, including dates the pattern
    lets through that do not exist (February 30th). -#}
{% macro parse_utc_timestamp(text) -%}
  case when {{ matches(text, utc_timestamp_pattern()) }} then
    {{ minus_minutes(
        try_cast_timestamp(
            "substr(" ~ text ~ ", 1, 10) || ' ' || substr(" ~ text ~ ", 12, 8) || '.' || "
            ~ "rpad(coalesce(regexp_extract(" ~ text ~ ", '[.]([0-9]{1,9})', 1), ''), 6, '0')"),
        utc_offset_minutes(text)) }}
  end
{%- endmacro %}

{% macro utc_offset_minutes(text) -%}
  case
    when upper(substr({{ text }}, length({{ text }}), 1)) = 'Z' then 0
    else (case when regexp_extract({{ text }}, '([+-])[0-9]{2}:?[0-9]{2}\z', 1) = '-' then -1 else 1 end)
      * (cast(regexp_extract({{ text }}, '[+-]([0-9]{2}):?[0-9]{2}\z', 1) as integer) * 60
         + cast(regexp_extract({{ text }}, '[+-][0-9]{2}:?([0-9]{2})\z', 1) as integer))
  end
{%- endmacro %}

{#- Why a timestamp text was refused, after "<field> ". -#}
{% macro timestamp_refusal(text) -%}
  case
    when {{ text }} is null then 'is missing'
    when not {{ matches(text, utc_timestamp_pattern()) }}
      then '"' || {{ text }} || '" is not an ISO-8601 date-time with seconds and a UTC offset (Z or +HH:MM)'
    else '"' || {{ text }} || '" is not a date that exists'
  end
{%- endmacro %}


{#- An amount is a number: a JSON number, or a JSON string holding one in decimal or exponent
    notation. JSON numbers are read as doubles (RFC 8259's interoperable range, and what both
    engines do), so an amount is accepted only where a double holds it exactly to the sixth
    decimal: below 10^9 in size, with at most 6 decimal places, which covers every ISO 4217
    currency's minor unit. It is kept as decimal(15, 6); an amount outside that is refused with
    the reason, never rounded. -#}
{% macro number_pattern() -%}
  \A *[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)? *\z
{%- endmacro %}

{% macro amount_double(text) -%}
  case when {{ matches(text, number_pattern()) }} then {{ try_cast_double('trim(' ~ text ~ ')') }} end
{%- endmacro %}

{% macro parse_amount(text) -%}
  case
    when abs({{ amount_double(text) }}) < 1e9 and round({{ amount_double(text) }}, 6) = {{ amount_double(text) }}
      then cast({{ amount_double(text) }} as decimal(15, 6))
  end
{%- endmacro %}

{#- Why an amount text was refused, after "amount ". -#}
{% macro amount_refusal(text) -%}
  case
    when {{ amount_double(text) }} is null then '"' || {{ text }} || '" is not a number'
    when not abs({{ amount_double(text) }}) < 1e9
      then '"' || {{ text }} || '" is out of range: an amount must be below 1000000000 in size'
    else '"' || {{ text }} || '" has more than 6 decimal places, and would be rounded'
  end
{%- endmacro %}


{#- A line whose bytes were not UTF-8: the local crawler and Athena both read such bytes as
    U+FFFD, so the line is refused as a whole rather than loaded with characters it never had. -#}
{% macro has_invalid_encoding(text) -%}
  strpos({{ text }}, chr(65533)) > 0
{%- endmacro %}

{% macro invalid_encoding_reason() -%}
  'line is not valid UTF-8 (its invalid bytes read as U+FFFD)'
{%- endmacro %}


{#- The kind of a JSON field's value, from its JSON text (json_field_value): the first character
    tells them apart on both engines. -#}
{% macro json_kind(value) -%}
  case
    when {{ value }} is null then 'missing'
    when substr({{ value }}, 1, 1) = '"' then 'string'
    when substr({{ value }}, 1, 1) = '{' then 'object'
    when substr({{ value }}, 1, 1) = '[' then 'array'
    when {{ value }} in ('true', 'false') then 'boolean'
    when {{ value }} = 'null' then 'null'
    else 'number'
  end
{%- endmacro %}

{#- Text fields must be JSON strings or numbers: an object, an array or a boolean is refused,
    not loaded as its JSON text. For each key, <key>_kind and <key>_text (NULL unless a string or
    a number), from the __json_values column that parsed_json added in the CTE before. -#}
{% macro scalar_fields(keys) -%}
  {%- for key in keys %}
        {{ json_kind(json_field_value(keys, key)) }} as {{ key }}_kind,
        case when {{ json_kind(json_field_value(keys, key)) }} in ('string', 'number')
            then {{ json_field_text(keys, key) }} end as {{ key }}_text{{ "," if not loop.last }}
  {%- endfor %}
{%- endmacro %}

{#- The first of the keys whose value is not a string or a number, as reason text; NULL if none. -#}
{% macro non_scalar_refusal(keys) -%}
  case
  {%- for key in keys %}
    when {{ key }}_kind in ('object', 'array', 'boolean')
      then '{{ key }} is a JSON ' || {{ key }}_kind || '; it must be a string or a number'
  {%- endfor %}
  end
{%- endmacro %}


{#- The few functions the two engines spell differently. -#}

{% macro matches(text, pattern) -%}
  {{ return(adapter.dispatch('matches', 'lakehouse')(text, pattern)) }}
{%- endmacro %}

{% macro duckdb__matches(text, pattern) -%}
  coalesce(regexp_matches({{ text }}, '{{ pattern }}'), false)
{%- endmacro %}

{% macro athena__matches(text, pattern) -%}
  coalesce(regexp_like({{ text }}, '{{ pattern }}'), false)
{%- endmacro %}

{% macro try_cast_timestamp(text) -%}
  {{ return(adapter.dispatch('try_cast_timestamp', 'lakehouse')(text)) }}
{%- endmacro %}

{% macro duckdb__try_cast_timestamp(text) -%}
  try_cast({{ text }} as timestamp)
{%- endmacro %}

{% macro athena__try_cast_timestamp(text) -%}
  try(cast({{ text }} as timestamp(6)))
{%- endmacro %}

{% macro try_cast_double(text) -%}
  {{ return(adapter.dispatch('try_cast_double', 'lakehouse')(text)) }}
{%- endmacro %}

{% macro duckdb__try_cast_double(text) -%}
  try_cast({{ text }} as double)
{%- endmacro %}

{% macro athena__try_cast_double(text) -%}
  try(cast({{ text }} as double))
{%- endmacro %}

{% macro minus_minutes(timestamp, minutes) -%}
  {{ return(adapter.dispatch('minus_minutes', 'lakehouse')(timestamp, minutes)) }}
{%- endmacro %}

{% macro duckdb__minus_minutes(timestamp, minutes) -%}
  ({{ timestamp }} - to_minutes(cast({{ minutes }} as bigint)))
{%- endmacro %}

{% macro athena__minus_minutes(timestamp, minutes) -%}
  date_add('minute', -({{ minutes }}), {{ timestamp }})
{%- endmacro %}
