"""Reads for background jobs; they run in the tenant's schema."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.db.models import QuerySet

from accounts.models import Membership
from jobs.models import Job
from saas.schemas import current_schema

DOWNLOAD_SALT = "jobs.download"


def jobs_visible_to(*, membership: Membership) -> QuerySet[Job]:
    """Admins and owners see every job of the organization; members see the ones they started."""
    jobs = Job.objects.all()
    if not membership.has_role(Membership.Role.ADMIN):
        jobs = jobs.filter(requested_by_id=membership.user_id)
    return jobs


def job_download_token(*, job: Job) -> str:
    """A short-lived signed token naming this tenant's job (JOB_DOWNLOAD_LINK_SECONDS)."""
    return signing.TimestampSigner(salt=DOWNLOAD_SALT).sign(f"{current_schema()}:{job.pk}")


def job_for_download(*, token: str, membership: Membership) -> Job | None:
    """The finished job a token names, if it is fresh, of this tenant and the member may have it."""
    try:
        value = signing.TimestampSigner(salt=DOWNLOAD_SALT).unsign(
            token, max_age=settings.JOB_DOWNLOAD_LINK_SECONDS
        )
    except signing.BadSignature:  # SignatureExpired included
        return None
    schema, _, job_id = value.rpartition(":")
    if schema != current_schema() or not job_id.isdigit():
        return None
    return jobs_visible_to(membership=membership).filter(pk=int(job_id), status=Job.Status.DONE).first()
