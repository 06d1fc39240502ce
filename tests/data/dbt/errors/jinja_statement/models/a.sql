select 1
{% for x in [1] %}
where 1 = 1
{% endfor %}
