"""Cache invalidation for remembered API keys (a cache concern, not business logic).

Whatever can refuse a key or change what it may do replaces its organization's key generation
once the change commits, and every process looks those keys up again (api.verified_keys): the
key itself (revoked, expiry changed, deleted), a membership (role changed, removed: a key acts
as its creator and never outranks them), a member's account (deactivated, changed, deleted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Membership, User
from api.models import ApiKey
from api.verified_keys import key_generations_replace


def _replace_on_commit(tenant_ids: Callable[[], Iterable[int]]) -> None:
    transaction.on_commit(lambda: key_generations_replace(tenant_ids()), robust=True)


@receiver([post_save, post_delete], sender=ApiKey, dispatch_uid="api.key_changed")
@receiver([post_save, post_delete], sender=Membership, dispatch_uid="api.membership_changed")
def on_key_or_membership_changed(instance: ApiKey | Membership, **_: object) -> None:
    tenant_id = instance.tenant_id
    _replace_on_commit(lambda: [tenant_id])


@receiver([post_save, post_delete], sender=User, dispatch_uid="api.user_changed")
def on_user_changed(instance: User, update_fields: frozenset[str] | None = None, **_: object) -> None:
    if update_fields is not None and update_fields <= {"last_login"}:
        return  # each login: nothing a key is checked against or shows
    user_id = instance.pk
    # Read once committed (no query on the save's path). A deleted account's memberships went
    # first, and their own signals replaced those generations.
    _replace_on_commit(lambda: Membership.objects.filter(user_id=user_id).values_list("tenant_id", flat=True))
