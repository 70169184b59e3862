{#- Business rule: a trip's pickup lies in the month it was cleaned and loaded for, so a monthly
    run only ever holds its own month. -#}
select trip_id, pickup_datetime, cleaned_month
from {{ ref('fct_trips') }}
where cast(date_trunc('month', pickup_datetime) as date) <> cleaned_month
