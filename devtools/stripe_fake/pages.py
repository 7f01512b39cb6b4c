"""The pages a person sees at Stripe: hosted checkout ("Subscribe") and the customer portal ("Cancel").

Submitting one does what Stripe does (state.py) and redirects back to the app, as Stripe's
success and return URLs do.
"""

from __future__ import annotations

import html
import re

from devtools.stripe_fake.state import StripeState


def hosted_page(state: StripeState, method: str, path: str) -> tuple[int, str, str]:
    """(status, HTML, redirect location) for `/checkout/<id>` and `/portal/<id>`, and their `/submit`."""
    match = re.fullmatch(r"/(checkout|portal)/([^/]+)(/submit)?", path)
    if not match:
        return 404, "Not found", ""
    kind, session_id, submit = match.groups()
    sessions = state.checkout_sessions if kind == "checkout" else state.portal_sessions
    session = sessions.get(session_id)
    if session is None:
        return 404, "No such session", ""
    if method == "POST" and submit:
        if kind == "checkout":
            state.checkout_complete(session_id)
            return 303, "", session["success_url"] or "/"
        state.portal_cancel(session_id)
        return 303, "", session["return_url"] or "/"
    label = "Subscribe" if kind == "checkout" else "Cancel subscription"
    return (
        200,
        (
            f"<!doctype html><title>Fake Stripe {kind}</title><h1>Fake Stripe {kind}</h1>"
            f"<p>{html.escape(session_id)}</p><form method=post action='/{kind}/{session_id}/submit'>"
            f"<button>{label}</button></form>"
        ),
        "",
    )
