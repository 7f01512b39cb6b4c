"""Where files go: Google Cloud Storage when GS_BUCKET_NAME is set (Terraform passes it to every
instance), the local disk otherwise; and the pages' CSP lets images load from the bucket.

Settings are read once per process, so each case imports them in a new interpreter with the
environment it describes, in production mode as a deployment runs. Nothing reaches Google: the
backend builds its client on first use, and these checks use none.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json

import django

django.setup()
from django.core.files.storage import storages
from django.http import HttpResponse
from django.test import RequestFactory

from saas.csp import ContentSecurityPolicyMiddleware

storage = storages["default"]
page = ContentSecurityPolicyMiddleware(lambda request: HttpResponse("<p>page</p>"))
policy = page(RequestFactory().get("/", HTTP_HOST="acme.example.com"))["Content-Security-Policy"]
directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
print(json.dumps({
    "backend": f"{type(storage).__module__}.{type(storage).__qualname__}",
    "options": {
        name: getattr(storage, name, None)
        for name in ("bucket_name", "iam_sign_blob", "sa_email", "querystring_auth", "default_acl")
    },
    "expiration": storage.expiration.total_seconds() if hasattr(storage, "expiration") else None,
    "location": str(getattr(storage, "location", "")),
    "img_src": directives["img-src"],
}))
"""

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "SAAS_ENVIRONMENT": "production",
    "SECRET_KEY": "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyz" * 2,
    "SAAS_BASE_DOMAIN": "example.com",
    "DATABASE_URL": "postgres://app@127.0.0.1:5432/unused",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_URL": "smtp://127.0.0.1:25",
    "LOG_LEVEL": "CRITICAL",
}


def settings_in_a_new_process(**environment: str) -> dict:
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GS_", "SAAS_", "DJANGO_", "PYTEST_")) and name != "MEDIA_ROOT"
    }
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**inherited, **PRODUCTION, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_with_a_bucket_files_go_to_cloud_storage_signed_through_iam_and_pages_may_show_them():
    seen = settings_in_a_new_process(GS_BUCKET_NAME="saas-production-media-1234")
    assert seen["backend"] == "storages.backends.gcloud.GoogleCloudStorage"
    # Instance credentials hold no private key: URLs are signed by the IAM signBlob API, as the
    # instance's own account (the one the credentials name; none is configured here).
    assert seen["options"] == {
        "bucket_name": "saas-production-media-1234",
        "iam_sign_blob": True,
        "sa_email": None,
        "querystring_auth": True,
        "default_acl": None,
    }
    assert seen["expiration"] == 3600
    assert "https://storage.googleapis.com" in seen["img_src"]


def test_a_named_signer_is_passed_to_the_backend():
    seen = settings_in_a_new_process(
        GS_BUCKET_NAME="saas-staging-media-1", GS_SA_EMAIL="saas-staging-web@project.iam.gserviceaccount.com"
    )
    assert seen["options"]["sa_email"] == "saas-staging-web@project.iam.gserviceaccount.com"


@pytest.mark.parametrize("bucket", [None, ""])
def test_without_a_bucket_files_stay_on_the_local_disk_and_images_come_only_from_the_site(tmp_path, bucket):
    environment = {"MEDIA_ROOT": str(tmp_path)}
    if bucket is not None:
        environment["GS_BUCKET_NAME"] = bucket
    seen = settings_in_a_new_process(**environment)
    assert seen["backend"] == "django.core.files.storage.filesystem.FileSystemStorage"
    assert seen["location"] == str(tmp_path)
    assert seen["img_src"] == ["'self'", "data:"]
