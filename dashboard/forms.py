"""Forms of the pages that compose several apps."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import Membership
from activity.models import AuditAction


class AuditFilterForm(forms.Form):
    """The audit log page's filters: who, what, between which days (inclusive), and the page."""

    actor = forms.TypedChoiceField(label="Who", required=False, coerce=int, empty_value=None)
    action = forms.ChoiceField(
        label="What", required=False, choices=[("", "Any action"), *AuditAction.choices]
    )
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, members: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", "Anyone")] + [  # type: ignore[attr-defined]
            (str(m.user_id), m.user.get_full_name()) for m in members
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def selection(self) -> dict[str, Any]:
        """The cleaned filters as audit_list's arguments."""
        data = self.cleaned_data

        def midnight(day: Any) -> datetime | None:
            return timezone.make_aware(datetime.combine(day, time.min)) if day else None

        end = midnight(data.get("date_to"))
        return {
            "actor_id": data.get("actor"),
            "action": data.get("action") or None,
            "since": midnight(data.get("date_from")),
            "until": end + timedelta(days=1) if end else None,
            "before_id": data.get("before"),
        }


class OrganizationDeleteForm(forms.Form):
    confirm = forms.CharField(
        label="Type the organization's subdomain to confirm",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class AccountDeleteForm(forms.Form):
    confirm = forms.CharField(
        label="Type your email address to confirm",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
