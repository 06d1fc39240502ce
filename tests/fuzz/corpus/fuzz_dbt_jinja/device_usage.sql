{{ config(materialized='table') }}

-- Plays per device type and their share of all plays, in percent.

select
    device_type,
    count(*) as play_count,
    count(distinct user_id) as unique_users,
    round(100.0 * count(*) / sum(count(*)) over (), 2) as pct
from {{ ref('silver_plays') }}
group by device_type
