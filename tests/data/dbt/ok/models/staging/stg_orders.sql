{{ config(tags=['orders']) }}
{# the raw orders, typed #}
select id, customer_id, cast(amount as bigint) as amount
from {{ source('raw', 'orders') }}  -- from bronze
where amount >= {{ var('min_v') }}
