from celery import shared_task

from saas.events import outbox_sweep
from saas.tasking import SchemaScope


@shared_task(name="saas.outbox_sweep", ignore_result=True, schema_scope=SchemaScope.PUBLIC)
def outbox_sweep_task() -> int:
    """Beat: dispatch outbox events left pending (broker down at commit, process killed)."""
    return outbox_sweep()
