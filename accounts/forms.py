from django import forms

from accounts.models import Membership
from saas.text import display_text_clean
from tenants.validators import SLUG_MAX_LENGTH


class DisplayTextField(forms.CharField):
    """A name shown in pages and emails: no line breaks, controls or bidi overrides (saas.text)."""

    def to_python(self, value: object) -> str:
        return display_text_clean(super().to_python(value))


class ServiceErrorsMixin:
    """Puts a service's ValidationError messages on the fields they name."""

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)  # type: ignore[attr-defined]


class SignUpForm(ServiceErrorsMixin, forms.Form):
    """The sign-up page's fields; the rules live in accounts.services.user_sign_up."""

    full_name = DisplayTextField(
        label="Your name",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text="Shown to your team instead of your email address.",
    )
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters; not a common or all-numeric password.",
    )
    organization_name = DisplayTextField(label="Organization name", max_length=100)
    subdomain = forms.CharField(
        required=False,
        max_length=SLUG_MAX_LENGTH,
        help_text="We derive one from the organization's name if you leave this empty.",
    )
    # Honeypot: hidden from people by CSS, filled in by naive bots.
    website = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )


class OrganizationForm(ServiceErrorsMixin, forms.Form):
    """A signed-in user's new organization; the rules live in accounts.services.organization_create."""

    organization_name = DisplayTextField(label="Organization name", max_length=100)
    subdomain = forms.CharField(
        required=False,
        max_length=SLUG_MAX_LENGTH,
        help_text="We derive one from the organization's name if you leave this empty.",
    )


class ProfileForm(forms.Form):
    full_name = DisplayTextField(
        label="Display name",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text="Shown to your team instead of your email address. Leave it empty to show your email.",
    )


class RenameForm(forms.Form):
    name = DisplayTextField(label="Organization name", max_length=100)


class TwoFactorRequirementForm(forms.Form):
    require_two_factor = forms.BooleanField(
        label="Require two-factor authentication from every member",
        required=False,
        help_text="Members without it are asked to set it up before they can open the organization.",
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices)
