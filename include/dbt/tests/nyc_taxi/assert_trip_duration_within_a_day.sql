{#- Business rule: a trip lasts between 0 and 24 hours. -#}
select trip_id, trip_duration_minutes
from {{ ref('fct_trips') }}
where trip_duration_minutes < 0
    or trip_duration_minutes > 24 * 60
