from django.contrib import admin, messages

from billing.models import BillingAccount, WebhookEvent
from billing.services import webhook_event_replay


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

    @admin.action(description="Replay selected events now")
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
