"""The product's form layout: every `{{ form }}` renders label, input, help, then errors under the field."""

from django.forms.renderers import DjangoTemplates


class FormRenderer(DjangoTemplates):
    form_template_name = "saas/forms/form.html"
    field_template_name = "saas/forms/field.html"
