{#- Business rule: no charge on a kept trip is negative (refunds stay in quarantine). -#}
select trip_id
from {{ ref('fct_trips') }}
where fare_amount < 0
    or extra_amount < 0
    or mta_tax < 0
    or tip_amount < 0
    or tolls_amount < 0
    or improvement_surcharge < 0
    or congestion_surcharge < 0
    or airport_fee < 0
    or total_amount < 0
