"""Email from templates: `<name>.txt` and `<name>.html`, subject from `<name>_subject.txt`."""

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from opentelemetry.trace import SpanKind

from saas import telemetry


def email_send(*, to: str, template: str, context: dict[str, Any], idempotency_key: str) -> None:
    """Render and send one email now (call it from a task, never inside a transaction).

    The Message-ID derives from the idempotency key, so if a retry ever did reach the
    recipient twice, mail systems would see the same message.
    """
    context = {"site_name": settings.SAAS_SITE_NAME, **context}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    safe_key = "".join(c if c.isalnum() or c in "-._" else "-" for c in idempotency_key)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Message-ID": f"<{safe_key}@{settings.SAAS_BASE_DOMAIN}>"},
    )
    message.attach_alternative(html, "text/html")
    # The SMTP exchange as the trace's last step (no instrumentation covers smtplib).
    with telemetry.tracer.start_as_current_span(
        "smtp send",
        kind=SpanKind.CLIENT,
        attributes={
            "email.template": template,
            "server.address": settings.EMAIL_HOST,
            "server.port": settings.EMAIL_PORT,
        },
    ):
        message.send(fail_silently=False)
