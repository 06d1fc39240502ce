{{ config(materialized='table') }}

-- Per day and user: how much they listened. Every event in silver counts as
-- a play of its track (the seed's listening events), whatever its event_type.

select
    played_date || '|' || user_id as day_user_key,
    played_date,
    user_id,
    count(*) as play_count,
    count(distinct track_id) as unique_tracks,
    sum(duration_ms) as total_ms,
    round(sum(duration_ms) / 60000.0, 2) as total_minutes
from {{ ref('silver_plays') }}
group by played_date, user_id
