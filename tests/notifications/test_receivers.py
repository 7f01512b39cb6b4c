"""Domain events become in-app notifications for the organization's admins, once each."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from invitations.models import Invitation
from invitations.services import invitation_accept, invitation_create, invitation_decline, invitation_expire
from notifications.models import Notification
from saas.events import outbox_sweep
from saas.models import OutboxEvent
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

PASSWORD = "a-long-enough-passphrase-42"


@pytest.fixture
def eager_tasks():
    """The invitation emails these events also enqueue run in-process (configuration, not a patch)."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def org(make_tenant, member_of):
    tenant = make_tenant()
    owner = member_of(tenant, UserFactory(email="owner@example.com", full_name="Olive Owner"), role="owner")
    admin = member_of(tenant, UserFactory(email="admin@example.com"), role="admin")
    # Free has 3 seats: the owner, the admin and the one invitation each test makes.
    return tenant, owner, admin


def notifications(tenant) -> list[tuple[int, str, str]]:
    with schema_context(tenant.schema_name):
        return sorted(Notification.objects.values_list("user_id", "kind", "title"))


def test_a_member_joining_tells_owners_and_admins_but_not_the_joiner(org, django_capture_on_commit_callbacks):
    tenant, owner, admin = org
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(tenant=tenant, inviter=owner, email="bo@example.com", role="admin")
    with django_capture_on_commit_callbacks(execute=True):
        joined = invitation_accept(invitation=invitation, password=PASSWORD, full_name="Bo Berg").user
    title = "Bo Berg joined as Admin."
    assert notifications(tenant) == sorted(
        [(owner.pk, "members.joined", title), (admin.pk, "members.joined", title)]
    )
    assert joined.pk not in [user_id for user_id, _, _ in notifications(tenant)]

    # The outbox dispatching the same event again (a sweep after a crash) adds nothing.
    event = OutboxEvent.objects.get(name="member.joined")
    OutboxEvent.objects.filter(pk=event.pk).update(
        state=OutboxEvent.State.PENDING, created_at=timezone.now() - timedelta(hours=1)
    )
    assert outbox_sweep() == 1
    assert len(notifications(tenant)) == 2


def test_a_declined_invitation_tells_the_admins(org, django_capture_on_commit_callbacks):
    tenant, owner, admin = org
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(tenant=tenant, inviter=admin, email="no@example.com", role="member")
    with django_capture_on_commit_callbacks(execute=True):
        invitation_decline(invitation=invitation)
    title = "The invitation for no@example.com was declined."
    assert notifications(tenant) == sorted(
        [(owner.pk, "invitations.declined", title), (admin.pk, "invitations.declined", title)]
    )


def test_an_expired_invitation_tells_the_admins(org, django_capture_on_commit_callbacks):
    tenant, owner, admin = org
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(tenant=tenant, inviter=owner, email="late@example.com", role="member")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        invitation_expire(invitation=invitation)
    title = "The invitation for late@example.com expired."
    assert notifications(tenant) == sorted(
        [(owner.pk, "invitations.expired", title), (admin.pk, "invitations.expired", title)]
    )


def test_nothing_is_notified_when_the_change_rolls_back(org, django_capture_on_commit_callbacks):
    tenant, owner, _ = org
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invitation = invitation_create(tenant=tenant, inviter=owner, email="x@example.com", role="member")
    assert callbacks  # the relay waits for commit
    with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True) as callbacks:
        from django.db import transaction

        with transaction.atomic():
            invitation_decline(invitation=invitation)
            raise RuntimeError("the caller fails after the service")
    assert callbacks == []
    assert notifications(tenant) == []
