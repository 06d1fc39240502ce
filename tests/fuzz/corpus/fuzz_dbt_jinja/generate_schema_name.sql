{#
  For real dbt: use a model's +schema as the schema name itself (silver,
  gold) rather than dbt's default <target schema>_<schema>, which is what
  dagctl's dbt task does. dagctl does not read macros.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
