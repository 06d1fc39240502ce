{{ config(materialized='table') }}

-- Every track with its play count and rank (ties share a rank); the
-- dashboard shows the first few. A track's names are taken from its
-- smallest spelling so that one track_id is one row.

with counts as (

    select
        track_id,
        min(track_name) as track_name,
        min(artist_name) as artist_name,
        count(*) as play_count
    from {{ ref('silver_plays') }}
    group by track_id

)

select
    track_id,
    track_name,
    artist_name,
    play_count,
    rank() over (order by play_count desc) as rank
from counts
