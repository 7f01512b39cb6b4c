from celery import shared_task

from saas.events import outbox_sweep


@shared_task(name="saas.outbox_sweep", ignore_result=True)
def outbox_sweep_task() -> int:
    """Beat: dispatch outbox events left pending (broker down at commit, process killed)."""
    return outbox_sweep()
