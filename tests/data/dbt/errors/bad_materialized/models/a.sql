{{ config(materialized='incremental') }}
select 1
