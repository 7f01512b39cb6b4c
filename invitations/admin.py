from django.contrib import admin, messages

from invitations.errors import InvitationError
from invitations.models import Invitation
from invitations.services import invitation_expire, invitation_resend, invitation_revoke


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "tenant",
        "role",
        "state",
        "invited_by",
        "created_at",
        "expires_at",
        "decided_at",
    ]
    list_filter = ["state", "role", "created_at", "expires_at"]
    search_fields = ["email", "tenant__name", "tenant__slug", "invited_by__email"]
    list_select_related = ["tenant", "invited_by"]
    readonly_fields = [f.name for f in Invitation._meta.fields]
    actions = ["revoke", "expire", "resend"]

    def has_add_permission(self, request):
        return False  # invitations are made by admins of the organization, on its members page

    def has_change_permission(self, request, obj=None):
        # The model's change permission runs the actions (services with their audit rows);
        # the form of one invitation stays read-only, as edits there would bypass them.
        return obj is None and super().has_change_permission(request)

    def _each(self, request, queryset, service, done: str) -> None:
        succeeded = 0
        for invitation in queryset.select_related("tenant"):
            try:
                service(invitation)
            except InvitationError as error:
                self.message_user(request, f"{invitation.email}: {error.message}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, f"{succeeded} invitation(s) {done}.", messages.SUCCESS)

    @admin.action(description="Revoke selected pending invitations", permissions=["change"])
    def revoke(self, request, queryset):
        self._each(
            request, queryset, lambda i: invitation_revoke(invitation=i, actor=request.user), "revoked"
        )

    @admin.action(description="Expire selected invitations past their date", permissions=["change"])
    def expire(self, request, queryset):
        self._each(request, queryset, lambda i: invitation_expire(invitation=i), "expired")

    @admin.action(
        description="Resend selected: new link and expiry, emailed to the invitee", permissions=["change"]
    )
    def resend(self, request, queryset):
        # The new link goes to the invitee's mailbox only (see invitations/views.py).
        self._each(
            request, queryset, lambda i: invitation_resend(invitation=i, actor=request.user), "sent again"
        )
