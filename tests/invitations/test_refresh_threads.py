"""Review item 1: re-reading an invitation in many threads at once never trips FSM protection."""

import threading

import pytest

from invitations.models import Invitation
from invitations.services import invitation_create
from tests.invitations.conftest import make_owner


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_a_protected_state_never_raise(committed_org):
    org = committed_org()
    invitation = invitation_create(tenant=org, inviter=make_owner(org), email="x@example.com", role="member")
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def refresh_many() -> None:
        from django.db import connection

        try:
            start.wait(timeout=10)
            copies = [Invitation.objects.get(pk=invitation.pk) for _ in range(3)]
            for _ in range(150):
                for copy in copies:
                    copy.refresh_from_db()
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []


@pytest.mark.django_db
def test_refresh_still_reads_the_new_state_and_keeps_protection(invite, owner):
    from invitations.services import invitation_revoke

    invitation, _ = invite()
    stale = Invitation.objects.get(pk=invitation.pk)
    invitation_revoke(invitation=invitation, actor=owner)
    stale.refresh_from_db()
    assert stale.state == Invitation.State.REVOKED
    with pytest.raises(AttributeError, match="Direct state modification is not allowed"):
        stale.state = Invitation.State.PENDING
    stale.refresh_from_db(fields=["email"])  # a partial refresh leaves the state alone
    assert stale.state == Invitation.State.REVOKED
