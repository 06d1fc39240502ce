{{ config(materialized='table') }}

-- Artists by plays, with how many of their tracks were played.

with counts as (

    select
        artist_name,
        count(*) as play_count,
        count(distinct track_id) as unique_tracks
    from {{ ref('silver_plays') }}
    where artist_name is not null
    group by artist_name

)

select
    artist_name,
    play_count,
    unique_tracks,
    rank() over (order by play_count desc) as rank
from counts
