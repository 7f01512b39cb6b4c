from django import forms

from accounts.models import ROLE_RANK, Membership
from saas.text import display_text_clean


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    role = forms.ChoiceField(label="Role", initial=Membership.Role.MEMBER)

    def __init__(self, *args, inviter_role: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        rank = ROLE_RANK.get(Membership.Role(inviter_role), 2)
        # Offer only roles at or below the inviter's own; the service enforces the same rule.
        role_field: forms.ChoiceField = self.fields["role"]  # type: ignore[assignment]
        role_field.choices = [
            (value, label)
            for value, label in Membership.Role.choices
            if ROLE_RANK[Membership.Role(value)] >= rank
        ]


class AcceptWithNewAccountForm(forms.Form):
    full_name = forms.CharField(label="Your name", max_length=150, required=False)
    password = forms.CharField(label="Choose a password", widget=forms.PasswordInput, strip=False)

    def clean_full_name(self) -> str:
        # Shown to the team and in emails: no line breaks, controls or bidi overrides (saas.text).
        return display_text_clean(self.cleaned_data["full_name"])
