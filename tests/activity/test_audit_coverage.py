"""Every state-changing service writes its audit rows: one per change, in the tenant, with context.

The services are enumerated from each app's `services` module (and package), so a new public
service fails `test_every_service_is_classified` until it is listed here: with the scenario
that proves its rows, or with the reason it writes none.
"""

from __future__ import annotations

import importlib
import inspect
import io
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from allauth.mfa.models import Authenticator
from django.apps import apps
from django.conf import settings as django_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts import services as accounts
from accounts.models import Membership, User
from activity.models import AuditAction, AuditEvent
from api import services as api_keys
from billing import services as billing
from billing.models import BillingAccount
from images import services as images
from images.checks import image_check
from invitations import services as invitations
from invitations.models import Invitation
from jobs import services as jobs
from lifecycle import services as lifecycle
from projects import services as projects
from tenants import services as tenants
from tenants.models import Tenant
from tests.billing.conftest import stripe_settings  # noqa: F401  (a fixture used below)
from tests.conftest import on_plan
from tests.factories import UserFactory
from tests.images.conftest import image_bytes

A = AuditAction

# Public services that write no audit row, and why.
NOT_AUDITED: dict[str, str] = {
    "tenants.services.tenant_domain_for_slug": "computes a host name",
    "tenants.services.domain_create": "a step of tenant_provision, its only caller",
    "accounts.services.slug_from_name": "computes a slug",
    "accounts.services.login_handoff_create": "a single-use login token in public; no tenant state",
    "accounts.services.login_handoff_redeem": "spends a login token; no tenant state",
    "accounts.services.user_sessions_end": "ends sessions; the change behind it is audited or admin-logged",
    "accounts.services.user_profile_update": "a person's own display name: global, in no tenant",
    "invitations.services.invitation_link": "builds a URL",
    "invitations.services.invitation_mark_sent": "delivery bookkeeping after invitation_create's row",
    "billing.services.accounts.billing_account_lock": "takes a row lock",
    "billing.services.seats.seat_check": "reads the seat limit",
    "billing.services.checkout.checkout_session_create": "a Stripe session; customer_ensure writes",
    "billing.services.checkout.portal_session_create": "a Stripe session; nothing of ours changes",
    "billing.services.inbox.webhook_event_receive": "the public inbox; applying it audits",
    "billing.services.inbox.webhook_event_process": "inbox bookkeeping; subscription_apply audits",
    "billing.services.inbox.webhook_event_replay": "runs webhook_event_process again",
    "billing.services.inbox.webhook_event_failure_record": "inbox bookkeeping (the error text)",
    "api.services.api_key_mark_used": "last-used bookkeeping, at most once a minute",
    "activity.services.audit_record": "writes the row itself",
    "activity.services.audit_actor_erase": "the erasure account deletion owes; its row is the deletion's",
    "notifications.services.notification_counts_broadcast": "sends counts over the socket",
    "notifications.services.notification_create_for_admins": "a notice made from an event already audited",
    "notifications.services.notification_mark_read": "a person's own read marker",
    "notifications.services.notification_mark_all_read": "a person's own read markers",
    "billing.services.subscriptions.subscription_cancel": "a call to Stripe; tenant_delete's record names it",
    "lifecycle.services.tenant_deletions_due": "reads due deletions",
    "lifecycle.services.tenant_export_run": "writes the file tenant_export_request's row announced",
    "lifecycle.services.tenant_export_fail": "records the error on the export's row",
    "lifecycle.services.tenant_delete": "drops the schema, audit log too; OrganizationDeletion records it",
    "images.services.avatar_set": "a person's own picture: global, in no tenant",
    "images.services.thumbnails_make_for": "derived files of an upload already audited (or personal)",
    "jobs.services.job_execute": "the worker running a job job_request audited",
    "jobs.services.job_finish_failed": "the job's own state after the request audited",
    "jobs.services.job_fail_stale": "the stale sweep marking a job's state",
    "jobs.services.job_rerun": "an operator's re-queue of a failed job (manage.py job_rerun logs it)",
    "notifications.services.notification_create_for_user": "a notice to one person about their job",
}


def service_names() -> set[str]:
    """Every public function defined in a project app's services module or package."""
    root = Path(django_settings.BASE_DIR).resolve()
    names: set[str] = set()
    for app in apps.get_app_configs():
        if not Path(app.path).resolve().is_relative_to(root):
            continue
        try:
            module = importlib.import_module(f"{app.name}.services")
        except ModuleNotFoundError:
            continue
        modules = [module]
        if hasattr(module, "__path__"):
            modules += [
                importlib.import_module(info.name)
                for info in pkgutil.iter_modules(module.__path__, f"{module.__name__}.")
            ]
        for each in modules:
            for name, function in inspect.getmembers(each, inspect.isfunction):
                if function.__module__ == each.__name__ and not name.startswith("_"):
                    names.add(f"{each.__name__}.{name}")
    return names


@dataclass
class World:
    tenant: Tenant
    owner: User
    admin: User
    member: User
    request: Any

    def membership(self, user: User) -> Membership:
        return Membership.objects.get(user=user, tenant=self.tenant)

    def invitation(self, email: str = "new@example.test") -> Invitation:
        return invitations.invitation_create(
            tenant=self.tenant, inviter=self.owner, email=email, role="member"
        )


# A scenario sets up what its service needs, then returns the call to audit: a function that
# runs the service and returns the tenants it wrote to (None: the world's tenant).
Act = Callable[[], object]
Scenario = Callable[[World], Act]
SCENARIOS: dict[str, tuple[list[AuditAction], Scenario]] = {}


def scenario(name: str, *actions: AuditAction) -> Callable[[Scenario], Scenario]:
    def register(function: Scenario) -> Scenario:
        SCENARIOS[name] = (list(actions), function)
        return function

    return register


def _pending(w: World, email: str = "pending@example.test") -> Invitation:
    return w.invitation(email)


@scenario("tenants.services.tenant_provision", A.TENANT_PROVISIONED)
def _(w: World) -> Act:
    return lambda: [tenants.tenant_provision(name="Made", slug="audit-made", actor=w.owner)]


@scenario("accounts.services.tenant_create_with_owner", A.TENANT_PROVISIONED, A.MEMBER_ADDED)
def _(w: World) -> Act:
    return lambda: [
        accounts.tenant_create_with_owner(slug="audit-cmd", name="Cmd", owner_email=w.member.email)
    ]


@scenario("accounts.services.user_sign_up", A.TENANT_PROVISIONED, A.MEMBER_ADDED)
def _(w: World) -> Act:
    return lambda: [
        accounts.user_sign_up(
            email="signup@example.test", password="a long enough password 9", organization_name="Signed"
        ).tenant
    ]


@scenario("accounts.services.organization_create", A.TENANT_PROVISIONED, A.MEMBER_ADDED)
def _(w: World) -> Act:
    return lambda: [
        accounts.organization_create(
            user=w.member, organization_name="Second", subdomain="audit-second"
        ).tenant
    ]


@scenario("accounts.services.membership_create", A.MEMBER_ADDED)
def _(w: World) -> Act:
    user = UserFactory.create()
    return lambda: accounts.membership_create(user=user, tenant=w.tenant, role="member") and None


@scenario("accounts.services.membership_role_change", A.MEMBER_ROLE_CHANGED)
def _(w: World) -> Act:
    return lambda: (
        accounts.membership_role_change(actor=w.owner, membership=w.membership(w.member), role="admin")
        and None
    )


@scenario("accounts.services.membership_remove", A.MEMBER_REMOVED)
def _(w: World) -> Act:
    return lambda: accounts.membership_remove(actor=w.owner, membership=w.membership(w.member))


@scenario("accounts.services.membership_leave", A.MEMBER_LEFT)
def _(w: World) -> Act:
    return lambda: accounts.membership_leave(membership=w.membership(w.member))


@scenario("accounts.services.tenant_ownership_transfer", A.OWNERSHIP_TRANSFERRED)
def _(w: World) -> Act:
    return lambda: (
        accounts.tenant_ownership_transfer(actor=w.owner, membership=w.membership(w.admin)) and None
    )


@scenario("accounts.services.tenant_rename", A.TENANT_RENAMED)
def _(w: World) -> Act:
    return lambda: accounts.tenant_rename(actor=w.admin, tenant=w.tenant, name="Renamed") and None


@scenario("invitations.services.invitation_create", A.INVITATION_CREATED)
def _(w: World) -> Act:
    return lambda: w.invitation() and None


@scenario("invitations.services.invitation_resend", A.INVITATION_RESENT)
def _(w: World) -> Act:
    invitation = _pending(w)
    Invitation.objects.filter(pk=invitation.pk).update(issued_at=timezone.now() - timedelta(hours=1))
    return lambda: invitations.invitation_resend(invitation=invitation, actor=w.owner) and None


@scenario("invitations.services.invitation_accept", A.MEMBER_ADDED, A.INVITATION_ACCEPTED)
def _(w: World) -> Act:
    invitation = _pending(w)
    return lambda: (
        invitations.invitation_accept(invitation=invitation, password="a long enough password 9") and None
    )


@scenario("invitations.services.invitation_decline", A.INVITATION_DECLINED)
def _(w: World) -> Act:
    invitation = _pending(w)
    return lambda: invitations.invitation_decline(invitation=invitation) and None


@scenario("invitations.services.invitation_revoke", A.INVITATION_REVOKED)
def _(w: World) -> Act:
    invitation = _pending(w)
    return lambda: invitations.invitation_revoke(invitation=invitation, actor=w.admin) and None


@scenario("invitations.services.invitation_expire", A.INVITATION_EXPIRED)
def _(w: World) -> Act:
    invitation = _pending(w)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    return lambda: invitations.invitation_expire(invitation=invitation) and None


@scenario("invitations.services.invitation_remind", A.INVITATION_REMINDED)
def _(w: World) -> Act:
    invitation = _pending(w)
    return lambda: invitations.invitation_remind(invitation=invitation) and None


# Bulk: a sweep writes one row per invitation it changes (2 expired, 1 reminded here).
@scenario(
    "invitations.services.invitations_expire_and_remind",
    A.INVITATION_EXPIRED,
    A.INVITATION_EXPIRED,
    A.INVITATION_REMINDED,
)
def _(w: World) -> Act:
    now = timezone.now()
    for email in ("late1@example.test", "late2@example.test"):
        late = _pending(w, email)
        Invitation.objects.filter(pk=late.pk).update(expires_at=now - timedelta(minutes=1))
    soon = _pending(w, "soon@example.test")
    Invitation.objects.filter(pk=soon.pk).update(
        expires_at=now + timedelta(hours=2), issued_at=now - timedelta(days=6)
    )
    return lambda: invitations.invitations_expire_and_remind() and None


@scenario("billing.services.checkout.customer_ensure", A.BILLING_CUSTOMER_CREATED)
def _(w: World) -> Act:
    return lambda: billing.customer_ensure(tenant=w.tenant) and None


@scenario("billing.services.subscriptions.subscription_apply", A.BILLING_PLAN_CHANGED)
def _(w: World) -> Act:
    fake = w.request.getfixturevalue("stripe_fake")
    subscription = fake.subscription_create(
        customer=billing.customer_ensure(tenant=w.tenant), price="price_pro"
    )
    return lambda: billing.subscription_apply(tenant=w.tenant, subscription_id=subscription["id"]) and None


# Bulk across tenants: one row in each tenant it downgrades.
@scenario("billing.services.subscriptions.past_due_downgrade", A.BILLING_PLAN_CHANGED, A.BILLING_PLAN_CHANGED)
def _(w: World) -> Act:
    long_ago = timezone.now() - timedelta(days=django_settings.BILLING_GRACE_DAYS + 1)
    second = tenants.tenant_provision(name="Late payer", slug="audit-late", actor=w.owner)
    for tenant in (w.tenant, second):
        on_plan(tenant, "pro", status=BillingAccount.Status.PAST_DUE, past_due_since=long_ago)

    def act() -> list[Tenant]:
        assert billing.past_due_downgrade() == 2
        return [w.tenant, second]

    return act


@scenario("api.services.api_key_create", A.API_KEY_CREATED)
def _(w: World) -> Act:
    return lambda: (
        api_keys.api_key_create(tenant=w.tenant, actor=w.admin, name="CI", scopes=["projects:read"]) and None
    )


@scenario("api.services.api_key_revoke", A.API_KEY_REVOKED)
def _(w: World) -> Act:
    key, _secret = api_keys.api_key_create(
        tenant=w.tenant, actor=w.admin, name="CI", scopes=["projects:read"]
    )
    return lambda: api_keys.api_key_revoke(api_key=key, actor=w.owner) and None


def _in_tenant(w: World, call: Callable[[], object]) -> Act:
    def act() -> None:
        with schema_context(w.tenant.schema_name):
            call()

    return act


def _project(w: World) -> Any:
    with schema_context(w.tenant.schema_name):
        return projects.project_create(tenant=w.tenant, actor=w.member, name="Roadmap")


@scenario("projects.services.project_create", A.PROJECT_CREATED)
def _(w: World) -> Act:
    return _in_tenant(w, lambda: projects.project_create(tenant=w.tenant, actor=w.member, name="Roadmap"))


@scenario("projects.services.project_update", A.PROJECT_UPDATED)
def _(w: World) -> Act:
    project = _project(w)
    return _in_tenant(
        w,
        lambda: projects.project_update(
            tenant=w.tenant, project=project, actor=w.member, name="Road map", status="active"
        ),
    )


@scenario("projects.services.project_delete", A.PROJECT_DELETED)
def _(w: World) -> Act:
    project = _project(w)
    return _in_tenant(w, lambda: projects.project_delete(project=project, actor=w.member))


@scenario("lifecycle.services.tenant_deletion_schedule", A.TENANT_DELETION_SCHEDULED)
def _(w: World) -> Act:
    return lambda: (
        lifecycle.tenant_deletion_schedule(tenant=w.tenant, actor=w.owner, confirm=w.tenant.slug) and None
    )


@scenario("lifecycle.services.tenant_deletion_cancel", A.TENANT_DELETION_CANCELED)
def _(w: World) -> Act:
    lifecycle.tenant_deletion_schedule(tenant=w.tenant, actor=w.owner, confirm=w.tenant.slug)
    return lambda: lifecycle.tenant_deletion_cancel(tenant=w.tenant, actor=w.owner) and None


@scenario("lifecycle.services.tenant_export_request", A.TENANT_EXPORTED)
def _(w: World) -> Act:
    return lambda: lifecycle.tenant_export_request(tenant=w.tenant, actor=w.owner) and None


# One row in each organization the person leaves.
@scenario("lifecycle.services.user_account_delete", A.MEMBER_ACCOUNT_DELETED, A.MEMBER_ACCOUNT_DELETED)
def _(w: World) -> Act:
    other = tenants.tenant_provision(name="Other", slug="audit-other", actor=w.owner)
    accounts.membership_create(user=w.member, tenant=other, role="member")
    return lambda: [w.tenant, other] if lifecycle.user_account_delete(user=w.member) is None else None


@scenario("accounts.services.tenant_two_factor_require", A.TWO_FACTOR_REQUIREMENT_CHANGED)
def _(w: World) -> Act:
    # Owners switch it on only once they use two-factor themselves.
    Authenticator.objects.create(
        user=w.owner, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
    )
    return lambda: accounts.tenant_two_factor_require(actor=w.owner, tenant=w.tenant, required=True) and None


@scenario("images.services.logo_set", A.TENANT_LOGO_CHANGED)
def _(w: World) -> Act:
    checked = image_check(file=io.BytesIO(image_bytes()))
    return lambda: images.logo_set(actor=w.admin, tenant=w.tenant, image=checked) and None


@scenario("jobs.services.job_request", A.REPORT_REQUESTED)
def _(w: World) -> Act:
    def act() -> None:
        with schema_context(w.tenant.schema_name):
            jobs.job_request(kind="members_csv", params={}, user_id=w.member.pk)

    return act


def _newest_ids() -> dict[str, int]:
    marks = {}
    for tenant in Tenant.objects.all():
        with schema_context(tenant.schema_name):
            marks[tenant.schema_name] = (
                AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
            )
    return marks


def test_every_service_is_classified():
    found = service_names()
    unclassified = sorted(found - set(SCENARIOS) - set(NOT_AUDITED))
    assert not unclassified, f"services with no audit scenario and no reason: {unclassified}"
    assert not (set(SCENARIOS) & set(NOT_AUDITED))
    assert sorted((set(SCENARIOS) | set(NOT_AUDITED)) - found) == [], "listed services that no longer exist"


@pytest.fixture
def world(request, stripe_settings, tenant, member_of) -> Iterator[World]:  # noqa: F811
    owner = member_of(tenant, role="owner")
    admin = member_of(tenant, role="admin")
    member = member_of(tenant, role="member")
    on_plan(tenant, "business")
    yield World(tenant=tenant, owner=owner, admin=admin, member=member, request=request)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_service_writes_its_audit_rows(name, world):
    expected, prepare = SCENARIOS[name]
    act = prepare(world)
    marks = _newest_ids()
    with structlog.contextvars.bound_contextvars(request_id="req-audit-1", trace_id=TRACE_ID):
        result = act()
    touched = result if isinstance(result, list) else [world.tenant]
    rows: list[AuditEvent] = []
    for tenant in touched:
        with schema_context(tenant.schema_name):
            rows += list(AuditEvent.objects.filter(id__gt=marks.get(tenant.schema_name, 0)).order_by("id"))
    assert sorted(row.action for row in rows) == sorted(expected)
    for row in rows:
        assert row.request_id == "req-audit-1", row
        assert row.trace_id == TRACE_ID, row
        assert row.changes, f"{row.action} records no before/after"
        assert all(isinstance(pair, list) and len(pair) == 2 for pair in row.changes.values()), row.changes


TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
