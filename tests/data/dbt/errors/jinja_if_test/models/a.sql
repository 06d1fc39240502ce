select 1
{% if true %}
where 1 = 1
{% endif %}
