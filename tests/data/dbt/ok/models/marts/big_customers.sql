{{- config(materialized='view', tags=['vip', 'orders']) -}}
select * from {{ ref('customer_totals') }} where total > 100
