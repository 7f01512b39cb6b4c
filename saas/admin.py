from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.db.models import Model
from django.http import HttpRequest

from saas.deliveries import delivery_retry
from saas.events import outbox_dispatch
from saas.models import OutboxEvent, TaskDelivery


def may_change(request: HttpRequest, model: type[Model]) -> bool:
    """Whether the user holds the change permission of `model` (what every admin action needs)."""
    codename = get_permission_codename("change", model._meta)
    return request.user.has_perm(f"{model._meta.app_label}.{codename}")


class _UndeclaredActionsNeedChangePermission:
    """Django offers an action that declares no `permissions` to anyone who may view the list;
    libraries' actions (allauth's "mark verified", dj-stripe's "cancel subscription") are like
    that. Such actions here need the model's change permission; ours declare it themselves."""

    model: type[Model]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)  # type: ignore[misc]
        if may_change(request, self.model):
            return actions
        declared = {
            name: entry for name, entry in actions.items() if getattr(entry[0], "allowed_permissions", ())
        }
        return declared


def admin_actions_need_change_permission(site: admin.AdminSite) -> None:
    """Wrap every registered model admin (call once all admin modules are imported)."""
    for model in apps.get_models():
        if not site.is_registered(model):
            continue
        stock = type(site.get_model_admin(model))
        if not issubclass(stock, _UndeclaredActionsNeedChangePermission):
            site.unregister(model)
            site.register(model, type(stock.__name__, (_UndeclaredActionsNeedChangePermission, stock), {}))


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "tenant_schema", "attempts", "created_at", "dispatched_at"]
    list_filter = ["state", "name"]
    search_fields = ["id", "name", "tenant_schema"]
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]
    actions = ["dispatch_now"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Dispatch selected pending events now", permissions=["change"])
    def dispatch_now(self, request, queryset):
        event_ids = queryset.values_list("id", flat=True)
        sent = sum(1 for event_id in event_ids if outbox_dispatch(event_id=event_id))
        self.message_user(request, f"{sent} event(s) dispatched.", messages.SUCCESS)


@admin.register(TaskDelivery)
class TaskDeliveryAdmin(admin.ModelAdmin):
    list_display = ["key", "task_name", "state", "attempts", "short_error", "updated_at"]
    list_filter = ["state", "task_name"]
    search_fields = ["key", "task_name", "last_error"]
    readonly_fields = [f.name for f in TaskDelivery._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Last error")
    def short_error(self, obj: TaskDelivery) -> str:
        return obj.last_error[:80]

    @admin.action(description="Retry selected deliveries", permissions=["change"])
    def retry(self, request, queryset):
        retried = 0
        for delivery in queryset.exclude(state=TaskDelivery.State.SUCCEEDED):
            try:
                delivery_retry(delivery=delivery)
            except Exception as error:  # the broker may be down: say so, keep going
                self.message_user(request, f"{delivery.key}: {error}", messages.ERROR)
            else:
                retried += 1
        self.message_user(request, f"{retried} delivery(ies) sent again.", messages.SUCCESS)


# The product's name on every admin page, and its own models above dj-stripe's.
admin.site.site_header = f"{settings.SAAS_SITE_NAME} administration"
admin.site.site_title = f"{settings.SAAS_SITE_NAME} admin"
admin.site.index_title = "Organizations, people and billing"
# Apps in this order first (tenants, users and memberships, invitations, billing's webhook
# inbox, the outbox and deliveries); every other app (dj-stripe's, Django's) follows by name.
ADMIN_APP_ORDER = ["tenants", "accounts", "invitations", "billing", "saas"]
_app_list = admin.site.get_app_list


def _ordered_app_list(request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
    rank = {label: index for index, label in enumerate(ADMIN_APP_ORDER)}
    apps = _app_list(request, app_label)
    return sorted(apps, key=lambda app: (rank.get(app["app_label"], len(rank)), app["name"]))


admin.site.get_app_list = _ordered_app_list  # type: ignore[method-assign]
