"""Every transition allowed and refused, through the services."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Membership, User
from activity.models import AuditEvent
from invitations.errors import InvitationError
from invitations.models import Invitation
from invitations.selectors import invitation_get_by_token, invitation_pending_count
from invitations.services import (
    invitation_accept,
    invitation_decline,
    invitation_expire,
    invitation_resend,
    invitation_revoke,
)
from invitations.tokens import token_for_salt
from saas.models import OutboxEvent
from tests.conftest import on_plan
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-unusual-passphrase-91"


def events(name: str) -> list[dict]:
    return [e.payload for e in OutboxEvent.objects.filter(name=name).order_by("created_at")]


def audit_actions(tenant) -> list[str]:
    with schema_context(tenant.schema_name):
        return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def make_past_due(invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))


# --- create --------------------------------------------------------------------------------


def test_create_stores_normalized_email_and_only_a_hash(invite, org, owner):
    invitation, token = invite(email="  New.Person@Example.COM ")
    invitation.refresh_from_db()
    assert invitation.email == "new.person@example.com"
    assert invitation.state == Invitation.State.PENDING
    assert token not in {invitation.token_hash, invitation.token_salt}
    assert len(token) == 43
    assert invitation.expires_at - invitation.issued_at == timedelta(days=7)
    assert invitation_get_by_token(token=token) == invitation
    assert events("invitation.created") == [{"invitation_id": invitation.pk, "tenant_id": org.pk}]
    assert audit_actions(org)[-1] == "invitation.created"


@pytest.mark.parametrize("email", ["new.person@example.com", "NEW.person@EXAMPLE.com"])
def test_a_second_pending_invitation_is_refused_whatever_the_case(invite, email):
    invite(email="new.person@example.com")
    with pytest.raises(InvitationError, match="already has a pending invitation"):
        invite(email=email)
    assert Invitation.objects.count() == 1


def test_declined_or_expired_invitation_can_be_followed_by_a_new_one(invite):
    first, _ = invite()
    invitation_decline(invitation=first)
    second, _ = invite()
    make_past_due(second)
    invitation_expire(invitation=second)
    third, _ = invite(email="NEW.PERSON@example.com")
    assert third.state == Invitation.State.PENDING
    assert Invitation.objects.count() == 3


def test_the_database_refuses_two_pending_invitations_for_one_address(invite, org):
    invitation, _ = invite()
    duplicate = Invitation(
        tenant=org,
        email="NEW.PERSON@example.com",
        token_salt="x",
        token_hash="y",
        issued_at=timezone.now(),
        expires_at=timezone.now(),
    )
    with pytest.raises(Exception, match="invitations_pending_email_tenant_ci_unique"), transaction.atomic():
        duplicate.save()


def test_plain_members_cannot_invite(invite, plain_member):
    with pytest.raises(InvitationError, match="Only owners and admins"):
        invite(inviter=plain_member)


def test_outsiders_cannot_invite(invite):
    with pytest.raises(InvitationError, match="Only owners and admins"):
        invite(inviter=UserFactory())


def test_admin_cannot_invite_an_owner_but_an_owner_can(invite, admin):
    with pytest.raises(InvitationError, match="role above your own"):
        invite(inviter=admin, role="owner")
    invitation, _ = invite(role="owner")
    assert invitation.role == "owner"
    assert invite(inviter=admin, email="x@example.com", role="admin")[0].role == "admin"


def test_existing_member_is_refused_whatever_the_case(invite, plain_member):
    with pytest.raises(InvitationError, match="already a member"):
        invite(email="MEMBER@example.com")


def test_inviting_your_own_email_is_refused(invite):
    with pytest.raises(InvitationError, match="cannot invite yourself"):
        invite(email="Owner@Example.com")


def test_seat_limit_is_enforced_naming_the_plan(invite, org, owner):
    on_plan(org, "free")  # 3 seats: the owner plus two pending invitations fill it
    invite(email="a@example.com")
    invite(email="b@example.com")
    with pytest.raises(InvitationError, match="Free plan includes 3 seats"):
        invite(email="c@example.com")
    assert invitation_pending_count(tenant=org) == 2


def test_nothing_is_published_when_the_callers_transaction_rolls_back(invite, org):
    with pytest.raises(RuntimeError), transaction.atomic():
        invite()
        raise RuntimeError("caller fails after the service")
    assert not Invitation.objects.exists()
    assert events("invitation.created") == []


# --- accept ---------------------------------------------------------------------------------


def test_new_user_accepts_with_a_password(invite, org):
    invitation, _ = invite(role="admin")
    membership = invitation_accept(invitation=invitation, password=PASSWORD, full_name="New Person")
    user = User.objects.get(email="new.person@example.com")
    assert user.check_password(PASSWORD)
    assert membership.user == user and membership.tenant == org and membership.role == "admin"
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.ACCEPTED
    assert invitation.decided_at is not None and invitation.decided_by == user
    assert events("member.joined") == [
        {"invitation_id": invitation.pk, "tenant_id": org.pk, "user_id": user.pk, "role": "admin"}
    ]
    assert audit_actions(org)[-2:] == ["member.added", "invitation.accepted"]
    assert EmailAddress.objects.get(user=user).verified


def test_weak_password_creates_nothing(invite):
    invitation, _ = invite()
    with pytest.raises(ValidationError) as raised:
        invitation_accept(invitation=invitation, password="123")
    assert "password" in raised.value.message_dict
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.PENDING
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_logged_in_user_accepts_despite_email_case(invite, org):
    existing = UserFactory.create(email="new.person@example.com")
    invitation, _ = invite(email="New.Person@EXAMPLE.com")
    invitation_accept(invitation=invitation, user=existing)
    assert Membership.objects.filter(user=existing, tenant=org).exists()


def test_member_of_another_org_joins_this_one_too(invite, org, make_tenant, member_of):
    other = make_tenant()
    person = member_of(other, UserFactory(email="new.person@example.com"), role="owner")
    invitation, _ = invite()
    invitation_accept(invitation=invitation, user=person)
    joined = set(Membership.objects.filter(user=person).values_list("tenant_id", flat=True))
    assert joined == {org.pk, other.pk}


def test_someone_else_cannot_accept(invite):
    invitation, _ = invite()
    with pytest.raises(InvitationError, match="you are signed in as intruder@example.com"):
        invitation_accept(invitation=invitation, user=UserFactory.create(email="intruder@example.com"))
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.PENDING


def test_existing_account_must_log_in_rather_than_set_a_password(invite):
    UserFactory(email="new.person@example.com")
    invitation, _ = invite()
    with pytest.raises(InvitationError, match="log in to accept"):
        invitation_accept(invitation=invitation, password=PASSWORD)


def test_already_a_member_is_refused_and_the_invitation_stays_pending(invite, org, member_of):
    invitation, _ = invite()
    person = member_of(org, UserFactory(email="new.person@example.com"))
    with pytest.raises(InvitationError, match="already a member"):
        invitation_accept(invitation=invitation, user=person)
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.PENDING


def test_seat_limit_reached_between_invite_and_accept(invite, org, member_of):
    invitation, _ = invite()
    member_of(org)
    member_of(org)  # 3 members + 1 pending = 4 seats
    on_plan(org, "free")  # downgraded: 3 seats
    with pytest.raises(InvitationError, match="Free plan includes 3 seats"):
        invitation_accept(invitation=invitation, password=PASSWORD)
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.PENDING
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_accepting_the_last_counted_seat_is_allowed(invite, org, member_of):
    on_plan(org, "free")
    member_of(org)
    invitation, _ = invite()  # owner + member + this invitation = 3 of 3
    invitation_accept(invitation=invitation, password=PASSWORD)
    assert Membership.objects.filter(tenant=org).count() == 3


@pytest.mark.parametrize("close", ["accept", "decline", "revoke", "expire"])
def test_a_closed_invitation_refuses_every_transition(invite, owner, close):
    invitation, _ = invite()
    if close == "accept":
        invitation_accept(invitation=invitation, password=PASSWORD)
    elif close == "decline":
        invitation_decline(invitation=invitation)
    elif close == "revoke":
        invitation_revoke(invitation=invitation, actor=owner)
    else:
        make_past_due(invitation)
        invitation_expire(invitation=invitation)
    message = Invitation.CLOSED_MESSAGES[Invitation.State(Invitation.objects.get().state)]
    attempts = [
        lambda: invitation_accept(invitation=invitation, password=PASSWORD),
        lambda: invitation_decline(invitation=invitation),
        lambda: invitation_revoke(invitation=invitation, actor=owner),
        lambda: invitation_resend(invitation=invitation, actor=owner),
    ]
    for attempt in attempts:
        with pytest.raises(InvitationError) as refused:
            attempt()
        assert refused.value.message == message
    with pytest.raises(InvitationError):
        invitation_expire(invitation=invitation)


def test_past_due_but_not_yet_swept_invitation_cannot_be_accepted_or_declined(invite):
    invitation, _ = invite()
    make_past_due(invitation)
    for attempt in (
        lambda: invitation_accept(invitation=invitation, password=PASSWORD),
        lambda: invitation_decline(invitation=invitation),
    ):
        with pytest.raises(InvitationError, match="has expired"):
            attempt()
    assert Invitation.objects.get().state == Invitation.State.PENDING


def test_expire_refuses_an_invitation_not_yet_due(invite):
    invitation, _ = invite()
    with pytest.raises(InvitationError, match="not expired yet"):
        invitation_expire(invitation=invitation)


def test_transitions_cannot_be_bypassed_by_assigning_the_state(invite):
    invitation, _ = invite()
    with pytest.raises(AttributeError, match="Direct state modification is not allowed"):
        invitation.state = Invitation.State.ACCEPTED


# --- decline, revoke, resend, expire -------------------------------------------------------------


def test_decline_by_someone_else_signed_in_is_refused(invite):
    invitation, _ = invite()
    with pytest.raises(InvitationError, match="signed in as"):
        invitation_decline(invitation=invitation, user=UserFactory.create())
    invitation_decline(invitation=invitation)
    assert Invitation.objects.get().state == Invitation.State.DECLINED
    assert events("invitation.declined")


def test_revoke_needs_an_admin_of_the_tenant(invite, admin, plain_member, org):
    invitation, _ = invite()
    with pytest.raises(InvitationError, match="Only owners and admins"):
        invitation_revoke(invitation=invitation, actor=plain_member)
    invitation_revoke(invitation=invitation, actor=admin)
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.REVOKED and invitation.decided_by == admin
    assert audit_actions(org)[-1] == "invitation.revoked"


def test_resend_rotates_the_token_and_renews_the_expiry(invite, owner, settings):
    settings.INVITATION_RESEND_INTERVAL = 0
    invitation, old_token = invite()
    Invitation.objects.filter(pk=invitation.pk).update(
        issued_at=timezone.now() - timedelta(days=3),
        expires_at=timezone.now() + timedelta(days=4),
        reminder_sent_at=timezone.now(),
    )
    renewed = invitation_resend(invitation=invitation, actor=owner)
    new_token = token_for_salt(renewed.token_salt)
    assert new_token != old_token
    assert invitation_get_by_token(token=old_token) is None
    assert invitation_get_by_token(token=new_token) == renewed
    assert renewed.expires_at > timezone.now() + timedelta(days=6, hours=23)
    assert renewed.reminder_sent_at is None
    assert len(events("invitation.resent")) == 1


def test_resend_is_rate_limited(invite, owner):
    invitation, _ = invite()
    with pytest.raises(InvitationError, match="just sent; try again in"):
        invitation_resend(invitation=invitation, actor=owner)
    assert events("invitation.resent") == []


def test_resend_needs_an_admin(invite, plain_member, settings):
    settings.INVITATION_RESEND_INTERVAL = 0
    invitation, _ = invite()
    with pytest.raises(InvitationError, match="Only owners and admins"):
        invitation_resend(invitation=invitation, actor=plain_member)


def test_expire_publishes_and_audits(invite, org):
    invitation, _ = invite()
    make_past_due(invitation)
    invitation_expire(invitation=invitation)
    assert Invitation.objects.get().state == Invitation.State.EXPIRED
    assert events("invitation.expired") == [{"invitation_id": invitation.pk, "tenant_id": org.pk}]
    assert audit_actions(org)[-1] == "invitation.expired"


# --- tokens ---------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "short", "x" * 43, "é" * 43, "a/b" * 15, "A" * 44])
def test_garbled_or_foreign_tokens_find_nothing(invite, token):
    invite()
    assert invitation_get_by_token(token=token) is None


def test_a_token_from_another_secret_key_finds_nothing(invite, settings):
    invitation, token = invite()
    settings.SECRET_KEY = "another-environment-secret"
    assert token_for_salt(invitation.token_salt) != token
    # The stored hash still matches the token this environment issued, and nothing else.
    assert invitation_get_by_token(token=token_for_salt(invitation.token_salt)) is None
