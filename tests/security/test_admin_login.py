"""Staff log in to the admin through allauth's login, rate limits and lockout included
(issue 9, item 2).

The test behaves like a browser that starts at /admin/: it follows redirects to whatever login
page it is shown and submits that page's form. Before the fix that was the admin's own form,
which counted nothing.
"""

import itertools
import time

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import DEFAULT_PASSWORD, UserFactory

WRONG = "not-the-password-at-all"
LOCKED_OUT = "Too many failed login attempts"
# The production shape (per IP and per address) with a short window, so "later" is seconds away.
WINDOW_SECONDS = 8
TEST_RATE = f"10/{WINDOW_SECONDS}s/ip,5/{WINDOW_SECONDS}s/key"
_addresses = itertools.count(1)


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def browser(db, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": TEST_RATE}
    # A client address of its own: allauth counts failures per IP, and the cache outlives tests.
    return Client(HTTP_HOST=settings.SAAS_BASE_DOMAIN, REMOTE_ADDR=f"192.0.2.{next(_addresses)}")


def open_admin(browser: Client) -> str:
    """Open /admin/ and return the login page it leads to."""
    page = browser.get("/admin/", follow=True)
    assert page.status_code == 200 and 'name="password"' in page.content.decode()
    return page.redirect_chain[-1][0]


def submit(browser: Client, login_url: str, email: str, password: str):
    """Submit the login page's form where it posts (to itself)."""
    # Both forms' field names: the admin's (username) and allauth's (login).
    return browser.post(login_url, {"login": email, "username": email, "password": password}, follow=True)


def test_admin_login_page_is_allauths(browser):
    response = browser.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fadmin%2F"


def test_credentials_posted_to_the_admin_form_log_nobody_in(browser, staff):
    browser.post("/admin/login/?next=/admin/", {"username": staff.email, "password": DEFAULT_PASSWORD})

    assert "_auth_user_id" not in browser.session


def test_staff_wrong_passwords_are_locked_out_then_the_right_one_opens_the_admin(browser, staff):
    login_url = open_admin(browser)
    answers = [submit(browser, login_url, staff.email, WRONG) for _ in range(15)]

    assert "_auth_user_id" not in browser.session
    locked = [LOCKED_OUT in answer.content.decode() for answer in answers]
    # allauth's per-address limit: five failures counted, every later attempt refused unchecked.
    assert locked == [False] * 5 + [True] * 10
    refused = submit(browser, login_url, staff.email, DEFAULT_PASSWORD)
    assert LOCKED_OUT in refused.content.decode()
    assert "_auth_user_id" not in browser.session

    time.sleep(WINDOW_SECONDS + 0.5)
    landed = submit(browser, open_admin(browser), staff.email, DEFAULT_PASSWORD)

    assert landed.redirect_chain[-1][0] == "/admin/"
    assert landed.status_code == 200
    assert f"{settings.SAAS_SITE_NAME} administration" in landed.content.decode()
    assert browser.session["_auth_user_id"] == str(staff.pk)


def test_a_signed_in_non_staff_user_is_refused(browser, user):
    browser.force_login(user)

    assert browser.get("/admin/login/").status_code == 403
    assert browser.get("/admin/", follow=True).status_code == 403
