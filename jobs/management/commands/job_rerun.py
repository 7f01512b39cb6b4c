from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_tenant_model, schema_context

from jobs.models import Job
from jobs.services import JobRefused, job_rerun


class Command(BaseCommand):
    help = "Queue a failed report job of one tenant again: job_rerun <schema> <job id>."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("schema")
        parser.add_argument("job_id", type=int)

    def handle(self, *args: object, schema: str, job_id: int, **options: object) -> None:
        if not get_tenant_model().objects.filter(schema_name=schema).exists():
            raise CommandError(f"No tenant has the schema {schema!r}.")
        with schema_context(schema):
            try:
                job = job_rerun(job_id=job_id)
            except Job.DoesNotExist:
                raise CommandError(f"{schema} has no job {job_id}.") from None
            except JobRefused as refused:
                raise CommandError(str(refused)) from None
        self.stdout.write(f"Job {job.pk} ({job.kind}) queued again in {schema}.")
