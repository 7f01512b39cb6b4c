"""What a report request may say: its kind and, for activity, a date range of at most a year."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.conf import settings

from jobs.models import Job


class ReportRequestForm(forms.Form):
    kind = forms.ChoiceField(choices=Job.Kind.choices)
    date_from = forms.DateField(required=False, label="From")
    date_to = forms.DateField(required=False, label="To")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") != Job.Kind.ACTIVITY_CSV:
            return data
        date_from: date | None = data.get("date_from")
        date_to: date | None = data.get("date_to")
        if date_from is None and "date_from" not in self.errors:
            self.add_error("date_from", "Choose the first day of the range.")
        if date_to is None and "date_to" not in self.errors:
            self.add_error("date_to", "Choose the last day of the range.")
        if date_from and date_to:
            if date_to < date_from:
                self.add_error("date_to", "The last day comes before the first.")
            elif (date_to - date_from).days + 1 > settings.JOB_REPORT_MAX_DAYS:
                self.add_error("date_to", f"A range covers at most {settings.JOB_REPORT_MAX_DAYS} days.")
        return data

    def params(self) -> dict[str, str]:
        """The job's stored parameters (JSON: dates as ISO strings)."""
        data = self.cleaned_data
        if data["kind"] != Job.Kind.ACTIVITY_CSV:
            return {}
        return {"date_from": data["date_from"].isoformat(), "date_to": data["date_to"].isoformat()}
