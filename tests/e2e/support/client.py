"""An HTTP client for `*.localhost` hosts, which Python cannot resolve."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from tests.handoff_page import HANDOFF_FORM


class BrowserClient:
    """Follows redirects across `localhost` and `<slug>.localhost`, one cookie jar per host.

    Every request goes to 127.0.0.1:<port> with the URL's host in the Host header, which is
    what a browser resolving `*.localhost` to loopback does.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, dict[str, str]] = {}
        self.session = requests.Session()
        self.history: list[str] = []

    def request(
        self,
        method: str,
        url: str,
        *,
        data: dict[str, str] | None = None,
        follow: bool = True,
        max_redirects: int = 10,
        timeout: float = 15.0,
    ) -> requests.Response:
        self.history = []
        origin: str | None = None  # of the page a POST comes from; None: the target's own
        for _ in range(max_redirects + 1):
            parts = urlsplit(url)
            host = parts.hostname or ""
            jar = self.cookies.setdefault(host, {})
            headers = {"Host": parts.netloc}
            if method == "POST":
                headers["Origin"] = origin or f"{parts.scheme}://{parts.netloc}"
                headers["Referer"] = url
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            response = self.session.request(
                method,
                f"http://127.0.0.1:{self.port}{path}",
                data=data,
                headers=headers,
                cookies=dict(jar),
                allow_redirects=False,
                timeout=timeout,
            )
            self.session.cookies.clear()
            for cookie in response.cookies:
                if cookie.value == "" or (cookie.expires is not None and cookie.expires < time.time()):
                    jar.pop(cookie.name, None)
                else:
                    jar[cookie.name] = cookie.value or ""
            response.url = url
            self.history.append(f"{response.status_code} {method} {url}")
            handoff = HANDOFF_FORM.search(response.text) if response.status_code == 200 else None
            if follow and handoff is not None:
                # What the page's script does: post the token from this page to the tenant host.
                origin = f"{parts.scheme}://{parts.netloc}"
                url, method, data = handoff["action"], "POST", {"token": handoff["token"]}
                continue
            origin = None
            if not follow or response.status_code not in (301, 302, 303, 307, 308):
                return response
            url = urljoin(url, response.headers["Location"])
            if response.status_code in (301, 302, 303):
                method, data = "GET", None
        raise AssertionError(f"Too many redirects: {self.history}")

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, data: dict[str, str], **kwargs: Any) -> requests.Response:
        """POST a form, with the CSRF token from the cookie this host gave us."""
        host = urlsplit(url).hostname or ""
        token = self.cookies.get(host, {}).get("csrftoken")
        if token and "csrfmiddlewaretoken" not in data:
            data = {**data, "csrfmiddlewaretoken": token}
        return self.request("POST", url, data=data, **kwargs)


def signed_in(browser_client: BrowserClient, user: Any, host: str) -> None:
    """Give the browser a session for `user` on `host` (what logging in leaves behind)."""
    from django.conf import settings as django_settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cached_db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    browser_client.cookies.setdefault(host, {})[django_settings.SESSION_COOKIE_NAME] = (
        session.session_key or ""
    )
