"""The server-error page: Django's default renders 500.html without the request, so the
request id a user should quote would be missing. This one passes it, and nothing else: no
context processors (they may need the database that just failed)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import loader


def server_error(request: HttpRequest) -> HttpResponse:
    template = loader.get_template("500.html")
    body = template.render(
        {"request_id": getattr(request, "request_id", ""), "site_name": settings.SAAS_SITE_NAME}
    )
    return HttpResponseServerError(body)
