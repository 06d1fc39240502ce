

select '{{ var('x', 'a') | upper }}'
