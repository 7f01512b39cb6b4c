"""The "API keys" page of a tenant: owners and admins make keys (shown once) and revoke them."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.guard import TenantRequest, tenant_member
from accounts.models import Membership
from api.forms import ApiKeyForm
from api.models import ApiKey
from api.selectors import api_key_list
from api.services import ApiKeyError, api_key_create, api_key_revoke


@tenant_member(role=Membership.Role.ADMIN)
def api_keys(request: TenantRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    new_secret = ""
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        try:
            api_key, new_secret = api_key_create(
                tenant=request.tenant,
                actor=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except ApiKeyError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            # Shown in this response only: the secret is not stored, so it cannot be shown again.
            messages.success(
                request, f"Key “{api_key.name}” created. Copy it now: it will not be shown again."
            )
            form = ApiKeyForm()
    context = {"form": form, "keys": api_key_list(tenant=request.tenant), "new_secret": new_secret}
    status = 400 if form.errors else 200
    response = render(request, "api/keys.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the page may carry a new secret
    return response


@require_POST
@tenant_member(role=Membership.Role.ADMIN)
def api_key_revoke_page(request: TenantRequest, key_id: int) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, pk=key_id, tenant=request.tenant)
    try:
        api_key_revoke(api_key=api_key, actor=request.user)
    except ApiKeyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Key “{api_key.name}” revoked; it stops working at once.")
    return redirect("api_keys")
