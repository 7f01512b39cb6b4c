"""All or nothing: a failing membership insert, concurrent accepts, races and lock timeouts."""

import threading

import pytest
from django.db import connection, connections, transaction
from django_tenants.utils import schema_context

from accounts.models import Membership, User
from activity.models import AuditEvent
from invitations.errors import InvitationBusy, InvitationError
from invitations.models import Invitation
from invitations.services import invitation_accept, invitation_create, invitation_revoke
from saas.models import OutboxEvent
from tests.invitations.conftest import make_owner

PASSWORD = "a-long-unusual-passphrase-91"
EMAIL = "new.person@example.com"


@pytest.mark.django_db
def test_a_refused_membership_insert_rolls_everything_back(invite, org, django_capture_on_commit_callbacks):
    invitation, _ = invite()
    with schema_context(org.schema_name):
        audit_rows = AuditEvent.objects.count()
    events = OutboxEvent.objects.count()
    # The database itself refuses the insert (no code of ours is patched): a CHECK
    # constraint that no existing row violates but every new "member" row does.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending FK checks
        cursor.execute(
            "ALTER TABLE public.accounts_membership ADD CONSTRAINT test_refuse_members "
            "CHECK (role <> 'member') NOT VALID"
        )
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(InvitationError, match="could not add you"),
    ):
        invitation_accept(invitation=invitation, password=PASSWORD, full_name="New Person")
    assert callbacks == []  # no email, event or cache clear escaped
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.PENDING
    assert invitation.decided_at is None
    assert not User.objects.filter(email=EMAIL).exists()
    assert not Membership.objects.filter(tenant=org, user__email=EMAIL).exists()
    assert OutboxEvent.objects.count() == events
    with schema_context(org.schema_name):
        assert AuditEvent.objects.count() == audit_rows


def _run_in_threads(count: int, work):
    """Start `count` threads at the same moment; each returns "ok" or the refusal message."""
    barrier = threading.Barrier(count)
    results: list[str] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            work(index)
            outcome = "ok"
        except InvitationError as error:
            outcome = error.message
        except Exception as error:  # anything else is a failure the test must show
            outcome = f"unexpected {type(error).__name__}: {error}"
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.fixture
def committed_invitation(committed_org):
    org = committed_org()
    owner = make_owner(org)
    invitation = invitation_create(tenant=org, inviter=owner, email=EMAIL, role="member")
    return org, owner, invitation


@pytest.mark.parametrize("signed_in", [False, True], ids=["new-account", "existing-account"])
def test_eight_simultaneous_accepts_make_exactly_one_membership(committed_invitation, signed_in):
    org, _, invitation = committed_invitation
    existing = User.objects.create_user(EMAIL, PASSWORD) if signed_in else None

    def accept(_: int) -> None:
        fresh = Invitation.objects.get(pk=invitation.pk)
        if existing is not None:
            invitation_accept(invitation=fresh, user=existing)
        else:
            invitation_accept(invitation=fresh, password=PASSWORD)

    results = _run_in_threads(8, accept)
    assert results.count("ok") == 1, results
    assert sorted(set(results) - {"ok"}) == ["This invitation has already been used."], results
    assert Membership.objects.filter(tenant=org, user__email=EMAIL).count() == 1
    assert User.objects.filter(email=EMAIL).count() == 1
    assert Invitation.objects.get(pk=invitation.pk).state == Invitation.State.ACCEPTED
    assert OutboxEvent.objects.filter(name="member.joined").count() == 1


def test_accept_racing_revoke_has_one_winner_and_no_half_state(committed_invitation):
    org, owner, invitation = committed_invitation

    def work(index: int) -> None:
        fresh = Invitation.objects.get(pk=invitation.pk)
        if index == 0:
            invitation_accept(invitation=fresh, password=PASSWORD)
        else:
            invitation_revoke(invitation=fresh, actor=owner)

    results = _run_in_threads(2, work)
    assert results.count("ok") == 1, results
    state = Invitation.objects.get(pk=invitation.pk).state
    joined = Membership.objects.filter(tenant=org, user__email=EMAIL).exists()
    if state == Invitation.State.ACCEPTED:
        assert joined and "This invitation has already been used." in results
    else:
        assert state == Invitation.State.REVOKED
        assert not joined and not User.objects.filter(email=EMAIL).exists()
        assert "This invitation was withdrawn by the organization." in results


def test_a_held_lock_gives_a_clear_try_again_and_changes_nothing(committed_invitation, settings):
    org, owner, invitation = committed_invitation
    settings.INVITATION_LOCK_TIMEOUT = "300ms"
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                Invitation.objects.select_for_update().get(pk=invitation.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        with pytest.raises(InvitationBusy, match="please try again"):
            invitation_accept(invitation=invitation, password=PASSWORD)
        with pytest.raises(InvitationBusy):
            invitation_revoke(invitation=invitation, actor=owner)
    finally:
        release.set()
        holder.join(timeout=30)
    assert Invitation.objects.get(pk=invitation.pk).state == Invitation.State.PENDING
    assert not User.objects.filter(email=EMAIL).exists()
    # Once the lock is free the same call goes through.
    invitation_accept(invitation=invitation, password=PASSWORD)
    assert Membership.objects.filter(tenant=org, user__email=EMAIL).exists()


def test_accept_racing_the_expiry_sweep_never_joins_after_the_deadline(committed_invitation):
    from datetime import timedelta

    from django.utils import timezone

    from invitations.services import invitations_expire_and_remind

    org, _, invitation = committed_invitation
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    def work(index: int) -> None:
        if index == 0:
            invitation_accept(invitation=Invitation.objects.get(pk=invitation.pk), password=PASSWORD)
        else:
            assert invitations_expire_and_remind()["expired"] == 1

    results = _run_in_threads(2, work)
    assert sorted(results) == ["This invitation has expired. Ask for a new one.", "ok"], results
    assert Invitation.objects.get(pk=invitation.pk).state == Invitation.State.EXPIRED
    assert not User.objects.filter(email=EMAIL).exists()
    assert not Membership.objects.filter(tenant=org, user__email=EMAIL).exists()
