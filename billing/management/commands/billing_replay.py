from django.core.management.base import BaseCommand, CommandError

from billing.models import WebhookEvent
from billing.services import webhook_event_replay


class Command(BaseCommand):
    help = "Process stored Stripe events again (by Stripe event id), e.g. after a failure."

    def add_arguments(self, parser):
        parser.add_argument("event_ids", nargs="+", help="Stripe event ids (evt_...)")

    def handle(self, *args, event_ids: list[str], **options):
        failed = 0
        for stripe_id in event_ids:
            event = WebhookEvent.objects.filter(stripe_id=stripe_id).first()
            if event is None:
                raise CommandError(f"No stored Stripe event {stripe_id}")
            try:
                event = webhook_event_replay(webhook_event_id=event.id)
            except Exception as error:
                failed += 1
                self.stderr.write(f"{stripe_id}: failed again: {type(error).__name__}: {error}")
            else:
                self.stdout.write(f"{stripe_id}: {event.get_state_display()}")
        if failed:
            raise CommandError(f"{failed} event(s) failed")
