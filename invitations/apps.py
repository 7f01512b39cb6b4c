from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "invitations"
    verbose_name = "Invitations"

    def ready(self) -> None:
        from billing.seats import seat_counter_register
        from invitations import receivers  # noqa: F401  (connects the event receivers)
        from invitations.selectors import invitation_pending_count

        # A pending invitation holds a seat until it is accepted, declined or expires.
        seat_counter_register(invitation_pending_count)
