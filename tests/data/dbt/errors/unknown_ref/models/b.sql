-- b
select * from {{ ref('a') }}
join {{ ref('nope') }}
