"""Representations of the API's resources; input serializers refuse unknown fields."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import Membership
from activity.models import AuditAction
from api.views.base import StrictSerializer
from billing.models import BillingAccount
from invitations.models import Invitation
from jobs.models import Job
from projects.models import Project


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    user_id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)
    role = serializers.ChoiceField(choices=Membership.Role.choices, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class MemberRoleSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    role = serializers.ChoiceField(choices=Membership.Role.choices, read_only=True)
    state = serializers.ChoiceField(choices=Invitation.State.choices, read_only=True)
    invited_by_email = serializers.EmailField(source="invited_by.email", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    sent_at = serializers.DateTimeField(read_only=True, allow_null=True)
    expires_at = serializers.DateTimeField(read_only=True)


class InvitationCreateSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)


class ProjectSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Project.Status.choices, read_only=True)
    owner_id = serializers.IntegerField(read_only=True, allow_null=True)
    owner_email = serializers.EmailField(source="owner.email", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(read_only=True, help_text="Bumped by every change; the ETag.")


class ProjectWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    status = serializers.ChoiceField(choices=Project.Status.choices, required=False)
    owner_id = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, allow_null=True, required=False,
        help_text="A member of the organization; defaults to the caller on create.",
    )  # fmt: skip


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    url = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    read_at = serializers.DateTimeField(read_only=True, allow_null=True)


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    action = serializers.ChoiceField(choices=AuditAction.choices, read_only=True)
    sentence = serializers.CharField(read_only=True)
    actor_id = serializers.IntegerField(read_only=True, allow_null=True)
    actor_email = serializers.CharField(read_only=True)
    actor_erased = serializers.BooleanField(read_only=True)
    target = serializers.CharField(read_only=True)
    changes = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField(), min_length=2, max_length=2),
        read_only=True,
        help_text='Each changed field\'s [before, after] values, e.g. {"role": ["member", "admin"]}.',
    )
    details = serializers.DictField(source="data", read_only=True, help_text="What else the row records.")
    request_id = serializers.CharField(read_only=True)
    trace_id = serializers.CharField(read_only=True)
    ip = serializers.IPAddressField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)


class BillingSerializer(serializers.Serializer):
    plan = serializers.CharField(read_only=True)
    plan_name = serializers.CharField(source="current_plan.name", read_only=True)
    status = serializers.ChoiceField(choices=BillingAccount.Status.choices, read_only=True)
    seat_limit = serializers.IntegerField(read_only=True, allow_null=True)
    seats_used = serializers.IntegerField(read_only=True)


REPORT_STATES = {"queued": "queued", "running": "running", "done": "succeeded", "failed": "failed"}


class ReportJobSerializer(serializers.Serializer):
    """A report job (components.schemas.ReportJob in the OpenAPI document)."""

    id = serializers.SerializerMethodField()
    kind = serializers.CharField(read_only=True)
    state = serializers.SerializerMethodField()
    progress = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    download_url = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    def get_id(self, job: Job) -> str:
        return str(job.pk)

    def get_state(self, job: Job) -> str:
        return REPORT_STATES[job.status]

    def get_download_url(self, job: Job) -> str | None:
        if job.status != Job.Status.DONE:
            return None
        request = self.context["request"]
        return request.build_absolute_uri(f"/api/v1/reports/{job.pk}/download/")

    def get_error(self, job: Job) -> str | None:
        return job.error or None


class ReportRequestSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=Job.Kind.choices)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
