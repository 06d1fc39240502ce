select 1
-- {{ ref('a')
