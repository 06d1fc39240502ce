{{ config(materialized='table', alias='totals') }}
select c.id as customer_id, c.name, sum(o.amount) as total, '{{ var("label") }}' as label,
       {{ var('missing_with_default', 7) }} as seven
from {{ ref('stg_customers') }} c
join {{ ref('stg_orders') }} o on o.customer_id = c.id
group by c.id, c.name
