from django import forms

from api.models import RESOURCES


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses this key, e.g. “CI deploy script”.")
    scopes = forms.MultipleChoiceField(
        choices=[
            (f"{resource}:{mode}", f"{resource} {mode}")
            for resource in RESOURCES
            for mode in ("read", "write")
        ],
        widget=forms.CheckboxSelectMultiple,
        help_text="Write includes read.",
    )
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, help_text="Leave empty for a key that does not expire."
    )
