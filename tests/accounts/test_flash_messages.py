"""Flash messages are shown once, on the host where the user lands (they ride the hand-off)."""

import pytest
from allauth.account.models import EmailAddress, EmailConfirmationHMAC

from invitations.services import invitation_create
from invitations.tokens import token_for_salt
from tests.accounts.conftest import STRONG_PASSWORD, signup_data
from tests.conftest import follow_handoff, on_plan
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def shown_once(landing, text: str) -> None:
    assert text in landing.get("/").content.decode()
    assert text not in landing.get("/").content.decode()


def test_after_sign_up_on_the_new_tenant_host_once(public_browser, unique):
    word = unique("flash")
    response = public_browser.post("/signup/", signup_data(word))
    landing, answer = follow_handoff(response)
    assert answer.status_code == 302
    shown_once(landing, "We sent a confirmation link to")
    # Not left behind on the public host either.
    assert "We sent a confirmation link" not in public_browser.get("/orgs/").content.decode()


def test_after_accepting_an_invitation_with_a_new_account(public_browser, make_tenant, member_of):
    tenant = on_plan(make_tenant(), "pro")
    owner = member_of(tenant, role="owner")
    invitation = invitation_create(tenant=tenant, inviter=owner, email="joiner@example.com", role="admin")
    token = token_for_salt(invitation.token_salt)
    response = public_browser.post(
        f"/invitations/{token}/", {"action": "signup", "password": STRONG_PASSWORD, "full_name": "Jo Iner"}
    )
    landing, _ = follow_handoff(response)
    shown_once(landing, f"You joined {tenant.name} as Admin.")


def test_after_accepting_an_invitation_signed_in(public_browser, make_tenant, member_of):
    tenant = on_plan(make_tenant(), "pro")
    owner = member_of(tenant, role="owner")
    invitee = UserFactory(email="existing@example.com")
    invitation = invitation_create(tenant=tenant, inviter=owner, email="existing@example.com", role="member")
    public_browser.force_login(invitee)
    response = public_browser.post(
        f"/invitations/{token_for_salt(invitation.token_salt)}/", {"action": "accept"}
    )
    landing, _ = follow_handoff(response)
    shown_once(landing, f"You joined {tenant.name} as Member.")


def test_after_confirming_the_email_address(public_browser, unique):
    word = unique("confirm")
    data = signup_data(word)
    follow_handoff(public_browser.post("/signup/", data))
    address = EmailAddress.objects.get(email=data["email"])
    key = EmailConfirmationHMAC(address).key
    response = public_browser.post(f"/confirm-email/{key}/")
    # The confirmation continues to the user's organization through a hand-off page.
    while response.status_code == 302:
        response = public_browser.get(response["Location"])
    landing, _ = follow_handoff(response)
    shown_once(landing, f"You have confirmed {data['email']}")
    address.refresh_from_db()
    assert address.verified
