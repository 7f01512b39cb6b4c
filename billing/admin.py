from collections.abc import Callable
from functools import wraps
from typing import Any

from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from djstripe.admin.actions import CustomActionMixin

from billing.models import BillingAccount, WebhookEvent
from billing.services import webhook_event_replay
from saas.admin import may_change


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    """Read only: plans change through Stripe (webhooks) and billing's services, never by hand."""

    list_display = ["tenant", "plan", "status", "seats", "past_due_since", "stripe_customer_id", "updated_at"]
    list_filter = ["plan", "status"]
    search_fields = ["tenant__name", "tenant__slug", "stripe_customer_id", "stripe_subscription_id"]
    list_select_related = ["tenant"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # staff still see every field: view permission

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["stripe_id", "type", "state", "tenant", "attempts", "short_error", "received_at"]
    list_filter = ["state", "type", "livemode"]
    search_fields = ["stripe_id", "type", "customer_id", "last_error"]
    list_select_related = ["tenant"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Last error")
    def short_error(self, obj: WebhookEvent) -> str:
        return obj.last_error[:80]

    @admin.action(description="Replay selected events now", permissions=["change"])
    def replay(self, request, queryset):
        for event in queryset:
            try:
                event = webhook_event_replay(webhook_event_id=event.id)
            except Exception as error:  # Stripe may still be down: show it, keep going
                self.message_user(
                    request, f"{event.stripe_id}: {type(error).__name__}: {error}", messages.ERROR
                )
            else:
                self.message_user(
                    request, f"{event.stripe_id}: {event.get_state_display()}.", messages.SUCCESS
                )


# --- dj-stripe's admin ---------------------------------------------------------------------
# dj-stripe's actions (re-sync from Stripe, cancel a subscription, ...) post to a confirmation
# view that asks only for staff status and takes the model from its URL; here it needs the
# change permission of that model, as the actions themselves do (saas.admin).


def _change_permission_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            model = apps.get_app_config("djstripe").get_model(kwargs.get("model_name", ""))
        except LookupError:
            raise Http404("No such model.") from None
        if not may_change(request, model):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return guarded


class _DjstripeConfirmationNeedsChangePermission:
    def get_urls(self) -> list[Any]:
        urls = super().get_urls()  # type: ignore[misc]
        for pattern in urls:
            if getattr(pattern, "name", None) == "djstripe_custom_action":
                pattern.callback = _change_permission_required(pattern.callback)
        return urls


for _model in apps.get_app_config("djstripe").get_models():
    if admin.site.is_registered(_model):
        _stock = type(admin.site.get_model_admin(_model))
        if issubclass(_stock, CustomActionMixin):
            admin.site.unregister(_model)
            admin.site.register(
                _model, type(_stock.__name__, (_DjstripeConfirmationNeedsChangePermission, _stock), {})
            )
