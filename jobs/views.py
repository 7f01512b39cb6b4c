from django.http import FileResponse, Http404, HttpResponse

from accounts.guard import TenantRequest, tenant_member
from jobs.reports import SPECS
from jobs.selectors import job_for_download


@tenant_member()
def job_download(request: TenantRequest, token: str) -> HttpResponse:
    """A report's file through its signed link: same tenant, the requester or an admin, while fresh."""
    job = job_for_download(token=token, membership=request.membership)
    if job is None or not job.file:
        raise Http404("This download link has expired or is not yours.")
    spec = SPECS[job.Kind(job.kind)]
    filename = f"{job.kind}-{job.pk}.{spec.extension}"
    response = FileResponse(
        job.file.open("rb"), as_attachment=True, filename=filename, content_type=spec.content_type
    )
    response["Cache-Control"] = "private, no-store"
    return response  # type: ignore[return-value]  # a streaming response; the guard's type is HttpResponse
