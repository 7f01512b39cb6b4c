"""A Stripe webhook is one trace: the signed POST, the outbox relay, the worker's processing
(its calls to the Stripe stand-in), the applied plan and the plan email, with the tenant on the
task's spans. Exported by gunicorn and the prefork worker to a loopback OTLP receiver."""

from __future__ import annotations

import pytest

from billing.selectors import billing_account_get
from devtools.processes import wait_until
from devtools.stripe_fake import event_payload
from devtools.telemetry_sink import Span, TelemetrySink
from tests.e2e.test_billing_webhooks import WEBHOOK_SECRET, deliver, paying_tenant  # noqa: F401 (a fixture)
from tests.e2e.test_observability import ancestors, telemetry_sink  # noqa: F401 (a fixture)

pytestmark = pytest.mark.e2e


@pytest.fixture
def e2e_env_overrides(stripe_fake, telemetry_sink) -> dict[str, str | None]:  # noqa: F811
    return {
        "STRIPE_SECRET_KEY": "sk_test_" + "e" * 24,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_fake.url,
        "STRIPE_PRICE_PRO": "price_pro",
        "STRIPE_PRICE_BUSINESS": "price_business",
        "STRIPE_TIMEOUT_SECONDS": "2",
        "LOG_FORMAT": "json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": telemetry_sink.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }


def test_a_webhook_is_one_trace_from_the_post_to_the_applied_plan(
    paying_tenant,  # noqa: F811
    stripe_fake,
    wsgi_server,
    celery_worker,
    smtp_server,
    telemetry_sink: TelemetrySink,  # noqa: F811
):
    tenant, _owner, subscription = paying_tenant
    payload = event_payload("invoice.paid", stripe_fake.invoices[subscription["latest_invoice"]])
    assert deliver(wsgi_server.port, payload).status_code == 200
    wait_until(lambda: billing_account_get(tenant=tenant).plan == "pro", timeout=30, message="the upgrade")
    smtp_server.wait_for(1, timeout=20)

    smtp = telemetry_sink.wait_for_span(lambda s: s.name == "smtp send", message="the plan email's span")

    def whole_trace() -> list[Span] | None:
        spans = [s for s in telemetry_sink.spans() if s.trace_id == smtp.trace_id]
        chain = ancestors(smtp, spans)
        return spans if chain and chain[-1].parent_span_id == "" else None

    spans = wait_until(whole_trace, timeout=15, message="every span up to the webhook's POST")
    root = ancestors(smtp, spans)[-1]
    assert root.resource["service.name"] == "saas-web"
    assert root.attributes.get("http.request.method", root.attributes.get("http.method")) == "POST"
    process = next(s for s in spans if s.name == "run/billing.stripe_event_process")
    email = next(s for s in spans if s.name == "run/billing.plan_email_send")
    # The processing (on the public schema, where Stripe's events live) asks the Stripe
    # stand-in for the subscription, and the plan change's event, relayed in the worker,
    # sends the email in the tenant's schema: all in the webhook's trace.
    assert process.attributes["tenant.id"] == "public"
    assert email.attributes["tenant.id"] == tenant.schema_name
    stripe_calls = [s for s in spans if str(s.attributes.get("http.url", "")).startswith(stripe_fake.url)]
    assert stripe_calls and all(s.resource["service.name"] == "saas-worker" for s in stripe_calls)
    assert any(s.name == "outbox.dispatch" and s.resource["service.name"] == "saas-worker" for s in spans)
