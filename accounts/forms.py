from django import forms

from saas.text import display_text_clean
from tenants.validators import SLUG_MAX_LENGTH


class SignUpForm(forms.Form):
    """The sign-up page's fields; the rules live in accounts.services.user_sign_up."""

    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters; not a common or all-numeric password.",
    )
    organization_name = forms.CharField(label="Organization name", max_length=100)
    subdomain = forms.CharField(
        required=False,
        max_length=SLUG_MAX_LENGTH,
        help_text="Optional: we derive one from the organization's name.",
    )
    # Honeypot: hidden from people by CSS, filled in by naive bots.
    website = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def clean_organization_name(self) -> str:
        # Shown in emails and pages: no line breaks, controls or bidi overrides (saas.text).
        return display_text_clean(self.cleaned_data["organization_name"])

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
