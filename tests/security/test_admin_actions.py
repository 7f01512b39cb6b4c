"""Every admin action needs the change permission of its model; viewing is not enough
(issue 9, item 12). Covers our admins and dj-stripe's (whose actions and confirmation view
asked only for staff status).
"""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.forms.models import model_to_dict
from django.test import Client, RequestFactory

from invitations.models import Invitation
from invitations.services import invitation_create
from saas.models import OutboxEvent, TaskDelivery
from tests.factories import UserFactory

OUR_ACTIONS = {
    "invitations.invitation": {"revoke", "expire", "resend"},
    "saas.outboxevent": {"dispatch_now"},
    "saas.taskdelivery": {"retry"},
    "billing.webhookevent": {"replay"},
}


def registered_models() -> list:
    return [model for model in apps.get_models() if admin.site.is_registered(model)]


def staff_with(*codenames: str, model):
    user = UserFactory.create(is_staff=True)
    content_type = ContentType.objects.get_for_model(model)
    user.user_permissions.add(*Permission.objects.filter(content_type=content_type, codename__in=codenames))
    return user


def actions_for(user, model) -> set[str]:
    request = RequestFactory().get("/admin/")
    request.user = user
    return set(admin.site.get_model_admin(model).get_actions(request))


def perm(action: str, model) -> str:
    return f"{action}_{model._meta.model_name}"


def test_view_permission_alone_offers_no_action_on_any_admin(db):
    offered = {}
    for model in registered_models():
        viewer = staff_with(perm("view", model), model=model)
        actions = actions_for(viewer, model)
        if actions:
            offered[model._meta.label_lower] = actions
    assert offered == {}


def test_change_permission_offers_our_actions(db):
    for label, expected in OUR_ACTIONS.items():
        model = apps.get_model(label)
        editor = staff_with(perm("view", model), perm("change", model), model=model)
        assert actions_for(editor, model) == expected, label


@pytest.fixture
def pending_invitation(make_tenant, member_of):
    tenant = make_tenant()
    owner = member_of(tenant, role="owner")
    return invitation_create(tenant=tenant, inviter=owner, email="x@example.com", role="member")


def run_action(user, model, action: str, pks: list) -> str:
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    response = client.post(url, {"action": action, "_selected_action": pks}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_a_viewer_cannot_resend_an_invitation_nor_run_any_other_action(pending_invitation, settings):
    settings.INVITATION_RESEND_INTERVAL = 0
    viewer = staff_with("view_invitation", model=Invitation)
    before = Invitation.objects.values("state", "token_salt", "expires_at").get(pk=pending_invitation.pk)

    for action in ("resend", "revoke", "expire"):
        page = run_action(viewer, Invitation, action, [pending_invitation.pk])
        assert f'value="{action}"' not in page
        assert "/invitations/" not in page.replace('href="/admin/invitations/', "")

    after = Invitation.objects.values("state", "token_salt", "expires_at").get(pk=pending_invitation.pk)
    assert after == before


def test_a_viewer_cannot_run_the_kernel_and_billing_actions(db):
    webhook_event = apps.get_model("billing.webhookevent")
    rows = [
        (TaskDelivery.objects.create(key="k:1", task_name="x", state=TaskDelivery.State.DEAD), "retry"),
        (OutboxEvent.objects.create(name="user.signed_up"), "dispatch_now"),
        (webhook_event.objects.create(stripe_id="evt_1", type="invoice.paid", body="{}"), "replay"),
    ]
    for row, action in rows:
        model = type(row)
        before = model_to_dict(row)
        viewer = staff_with(perm("view", model), model=model)
        page = run_action(viewer, model, action, [row.pk])
        row.refresh_from_db()
        assert model_to_dict(row) == before, action
        assert f'value="{action}"' not in page


def test_an_editor_resends(pending_invitation, settings):
    settings.INVITATION_RESEND_INTERVAL = 0
    editor = staff_with("view_invitation", "change_invitation", model=Invitation)

    page = run_action(editor, Invitation, "resend", [pending_invitation.pk])

    assert "1 invitation(s) sent again." in page
    assert Invitation.objects.get(pk=pending_invitation.pk).token_salt != pending_invitation.token_salt


def test_an_invitation_form_stays_read_only_for_an_editor(pending_invitation):
    editor = staff_with("view_invitation", "change_invitation", model=Invitation)
    client = Client(HTTP_HOST="localhost")
    client.force_login(editor)

    page = client.get(f"/admin/invitations/invitation/{pending_invitation.pk}/change/").content.decode()

    assert 'name="_save"' not in page


def test_djstripe_confirmation_view_needs_the_change_permission_of_the_model_it_names(db):
    subscription = apps.get_model("djstripe", "subscription")
    customer = apps.get_model("djstripe", "customer")
    url = "/admin/djstripe/customer/action/_cancel/subscription/"
    for user, status in [
        (staff_with("view_customer", "change_customer", model=customer), 403),  # names subscription
        (staff_with("view_subscription", model=subscription), 403),
        (staff_with("view_subscription", "change_subscription", model=subscription), 200),
    ]:
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        # Nothing selected: the view shows its confirmation page again, or refuses.
        assert client.post(url, {}).status_code == status
