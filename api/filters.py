"""Filtering and ordering for every list, declared on the view and documented in the schema.

    filter_fields = {"status": ("status", serializers.ChoiceField(choices=Project.Status.choices))}
    ordering_fields = ["created_at", "name"]

A filter's value is validated by its DRF field, so a bad value is a field error (400), not a
silently empty list. Ordering is DRF's OrderingFilter, which the cursor paginator follows;
an ordering it does not know is refused too.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import exceptions, serializers
from rest_framework.filters import BaseFilterBackend, OrderingFilter

_TYPES: list[tuple[type[serializers.Field], dict[str, Any]]] = [
    (serializers.BooleanField, {"type": "boolean"}),
    (serializers.IntegerField, {"type": "integer"}),
    (serializers.DateTimeField, {"type": "string", "format": "date-time"}),
    (serializers.EmailField, {"type": "string", "format": "email"}),
]


def _parameter_schema(field: serializers.Field) -> dict[str, Any]:
    if isinstance(field, serializers.ChoiceField):
        return {"type": "string", "enum": list(field.choices)}
    for kind, schema in _TYPES:
        if isinstance(field, kind):
            schema = dict(schema)
            if isinstance(field, serializers.IntegerField):
                if field.min_value is not None:
                    schema["minimum"] = field.min_value
                if field.max_value is not None:
                    schema["maximum"] = field.max_value
            return schema
    return {"type": "string"}


class FieldFilter(BaseFilterBackend):
    def filter_queryset(self, request: Any, queryset: QuerySet, view: Any) -> QuerySet:
        errors: dict[str, Any] = {}
        for name, (lookup, field) in getattr(view, "filter_fields", {}).items():
            if name not in request.query_params:
                continue
            try:
                value = field.run_validation(request.query_params[name])
            except exceptions.ValidationError as error:
                errors[name] = error.detail
                continue
            queryset = queryset.filter(**{lookup: value})
        if errors:
            raise exceptions.ValidationError(errors)
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": f"Only items whose {name} is this.",
                "schema": _parameter_schema(field),
            }
            for name, (_lookup, field) in getattr(view, "filter_fields", {}).items()
        ]


class StrictOrderingFilter(OrderingFilter):
    def get_ordering(self, request: Any, queryset: QuerySet, view: Any) -> Any:
        params = request.query_params.get(self.ordering_param)
        if params:
            fields = [param.strip() for param in params.split(",")]
            allowed = {name for name, _label in self.get_valid_fields(queryset, view, {"request": request})}
            unknown = [name for name in fields if name.lstrip("-") not in allowed]
            if unknown or len(fields) != 1:
                raise exceptions.ValidationError(
                    {
                        self.ordering_param: [
                            f"Order by one of: {', '.join(sorted(allowed))} (prefix - to reverse)."
                        ]
                    }
                )
        return super().get_ordering(request, queryset, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        fields = getattr(view, "ordering_fields", [])
        return [
            {
                "name": self.ordering_param,
                "in": "query",
                "required": False,
                "description": "Sort order: one field, prefixed with - for descending.",
                "schema": {"type": "string", "enum": [*fields, *(f"-{name}" for name in fields)]},
            }
        ]
