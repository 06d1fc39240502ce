{{ config(materialized='incremental', unique_key=['a', "b"], indexes=[{'columns': ['x'], 'unique': true}], n=-1.5e3, f=False, z=None) }}
{% if not is_incremental() %}a{% else %}b{% endif %}
{{- this -}} {# c #}
