"""The API's resources: thin views over the services and selectors the pages use.

Each view: parse (serializer), authorize (TenantApiPermission via `api_resource` and the
roles), call one service or selector, render. Copy `ProjectViewSet` for a resource of your own.
"""

from __future__ import annotations

from typing import Any

from allauth.core import ratelimit
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.guard import tenant_access
from accounts.models import Membership, User
from accounts.services import membership_remove, membership_role_change
from activity.models import AuditAction, AuditEvent
from activity.selectors import audit_list
from api import serializers as api_serializers
from api.views.base import ApiView, ApiViewSet, etag_of, expected_version
from billing.seats import seats_used
from billing.selectors import billing_account_get
from invitations.models import Invitation
from invitations.services import invitation_create, invitation_resend, invitation_revoke
from jobs.forms import ReportRequestForm
from jobs.models import Job
from jobs.reports import SPECS
from jobs.selectors import jobs_visible_to
from jobs.services import job_request
from notifications.models import Notification
from notifications.services import notification_mark_read
from projects import selectors as project_selectors
from projects import services as project_services
from projects.models import Project

REPORT_CONTENT_TYPES = sorted({spec.content_type for spec in SPECS.values()})
ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The object's id.")
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The ETag you read ("<version>"); the write is refused with 412 if the object changed since.',
)


def _path_id(view: ApiViewSet) -> int:
    raw = str(view.kwargs.get("pk", ""))
    if not raw.isdigit() or int(raw) > 2**63 - 1:
        raise exceptions.NotFound()
    return int(raw)


@extend_schema_view(
    list=extend_schema(summary="List the organization's members", tags=["members"]),
    partial_update=extend_schema(
        summary="Change a member's role (owners and admins; never above your own, never the last owner)",
        tags=["members"],
        request=api_serializers.MemberRoleSerializer,
        parameters=[ID],
        responses={200: api_serializers.MemberSerializer},
    ),
    destroy=extend_schema(
        summary="Remove a member (owners and admins; admins never remove owners)",
        tags=["members"],
        parameters=[ID],
        responses={204: None},
    ),
)
class MemberViewSet(ApiViewSet):
    """The organization's members and their roles."""

    api_resource = "members"
    serializer_class = api_serializers.MemberSerializer
    filter_fields = {"role": ("role", serializers.ChoiceField(choices=Membership.Role.choices))}
    ordering_fields = ["created_at"]

    write_role = Membership.Role.ADMIN

    def get_queryset(self) -> QuerySet[Membership]:
        return Membership.objects.filter(tenant=self.request.tenant).select_related("user", "tenant")  # type: ignore[attr-defined]

    def _membership(self) -> Membership:
        membership = self.get_queryset().filter(pk=_path_id(self)).first()
        if membership is None:
            raise exceptions.NotFound()
        return membership

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def partial_update(self, request: Request, pk: str) -> Response:
        data = api_serializers.MemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = membership_role_change(
            actor=request.user,  # type: ignore[arg-type]
            membership=self._membership(),
            role=data.validated_data["role"],
        )
        return Response(self.get_serializer(changed).data)

    def destroy(self, request: Request, pk: str) -> Response:
        membership_remove(actor=request.user, membership=self._membership())  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List invitations (every state)", tags=["invitations"]),
    create=extend_schema(
        summary="Invite someone by email",
        tags=["invitations"],
        request=api_serializers.InvitationCreateSerializer,
        responses={201: api_serializers.InvitationSerializer},
    ),
    resend=extend_schema(
        summary="Send a pending invitation again (a new link; the old one stops working)",
        tags=["invitations"],
        request=None,
        parameters=[ID],
        responses={200: api_serializers.InvitationSerializer},
    ),
    revoke=extend_schema(
        summary="Withdraw a pending invitation",
        tags=["invitations"],
        request=None,
        parameters=[ID],
        responses={200: api_serializers.InvitationSerializer},
    ),
)
class InvitationViewSet(ApiViewSet):
    """Invitations to join the organization; owners and admins send, resend and withdraw them."""

    api_resource = "invitations"
    write_role = Membership.Role.ADMIN
    serializer_class = api_serializers.InvitationSerializer
    filter_fields = {"state": ("state", serializers.ChoiceField(choices=Invitation.State.choices))}
    ordering_fields = ["created_at", "expires_at"]

    def get_queryset(self) -> QuerySet[Invitation]:
        return Invitation.objects.filter(tenant=self.request.tenant).select_related("invited_by")  # type: ignore[attr-defined]

    def _invitation(self) -> Invitation:
        invitation = self.get_queryset().filter(pk=_path_id(self)).first()
        if invitation is None:
            raise exceptions.NotFound()
        return invitation

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        data = api_serializers.InvitationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The members page's limit (INVITATION_RATE_LIMIT): each invitation emails an address
        # of the caller's choosing, however it was asked for.
        tenant = request.tenant  # type: ignore[attr-defined]
        if not ratelimit.consume(request._request, action="invitation_create", key=tenant.schema_name):
            raise exceptions.Throttled(detail="Too many invitations sent recently; wait a while and retry.")
        invitation = invitation_create(
            tenant=tenant,
            inviter=request.user,  # type: ignore[arg-type]
            email=data.validated_data["email"],
            role=data.validated_data["role"],
        )
        return Response(self.get_serializer(invitation).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def resend(self, request: Request, pk: str) -> Response:
        invitation = invitation_resend(invitation=self._invitation(), actor=request.user)  # type: ignore[arg-type]
        return Response(self.get_serializer(invitation).data)

    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        invitation = invitation_revoke(invitation=self._invitation(), actor=request.user)  # type: ignore[arg-type]
        return Response(self.get_serializer(invitation).data)


@extend_schema_view(
    list=extend_schema(summary="List projects", tags=["projects"]),
    create=extend_schema(
        summary="Create a project",
        tags=["projects"],
        request=api_serializers.ProjectWriteSerializer,
        responses={201: api_serializers.ProjectSerializer},
    ),
    retrieve=extend_schema(
        summary="Read a project (its ETag is its version)", tags=["projects"], parameters=[ID]
    ),
    partial_update=extend_schema(
        summary="Change some of a project's fields",
        tags=["projects"],
        parameters=[ID, IF_MATCH],
        request=api_serializers.ProjectWriteSerializer,
        responses={200: api_serializers.ProjectSerializer},
    ),
    destroy=extend_schema(
        summary="Delete a project", tags=["projects"], parameters=[ID, IF_MATCH], responses={204: None}
    ),
)
class ProjectViewSet(ApiViewSet):
    """Projects: the sample resource. Updates and deletes honour If-Match (412 when stale)."""

    api_resource = "projects"
    serializer_class = api_serializers.ProjectSerializer
    filter_fields = {
        "status": ("status", serializers.ChoiceField(choices=Project.Status.choices)),
        "owner_id": ("owner_id", serializers.IntegerField(min_value=1, max_value=2**63 - 1)),
    }
    ordering_fields = ["created_at", "updated_at", "name"]

    def get_queryset(self) -> QuerySet[Project]:
        return project_selectors.project_list()

    def _project(self) -> Project:
        project = project_selectors.project_get(project_id=_path_id(self))
        if project is None:  # includes every id of another organization: its rows are not here
            raise exceptions.NotFound()
        return project

    def _owner(self, owner_id: int | None) -> User | None:
        if owner_id is None:
            return None
        owner = User.objects.filter(pk=owner_id, memberships__tenant=self.request.tenant).first()  # type: ignore[attr-defined]
        if owner is None:
            raise exceptions.ValidationError({"owner_id": ["Not a member of this organization."]})
        return owner

    def _render(self, project: Project, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(
            self.get_serializer(project).data, status=status_code, headers={"ETag": etag_of(project.version)}
        )

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        data = api_serializers.ProjectWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields: dict[str, Any] = dict(data.validated_data)
        owner = self._owner(fields.pop("owner_id", None))
        project = project_services.project_create(
            tenant=request.tenant,  # type: ignore[attr-defined]
            actor=request.user,  # type: ignore[arg-type]
            owner=owner,
            **fields,
        )
        response = self._render(project, status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"{project.pk}/")
        return response

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._render(self._project())

    def partial_update(self, request: Request, pk: str) -> Response:
        project = self._project()
        data = api_serializers.ProjectWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes: dict[str, Any] = dict(data.validated_data)
        if "owner_id" in changes:
            changes["owner"] = self._owner(changes.pop("owner_id"))
        project = project_services.project_update(
            tenant=request.tenant,  # type: ignore[attr-defined]
            project=project,
            actor=request.user,  # type: ignore[arg-type]
            expected_version=expected_version(request),
            **changes,
        )
        return self._render(project)

    def destroy(self, request: Request, pk: str) -> Response:
        project_services.project_delete(
            project=self._project(),
            actor=request.user,  # type: ignore[arg-type]
            expected_version=expected_version(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List your notifications", tags=["notifications"]),
    read=extend_schema(
        summary="Mark one of your notifications read",
        tags=["notifications"],
        request=None,
        parameters=[ID],
        responses={200: api_serializers.NotificationSerializer},
    ),
)
class NotificationViewSet(ApiViewSet):
    """The caller's own notifications (a key sees its creator's)."""

    api_resource = "notifications"
    serializer_class = api_serializers.NotificationSerializer
    filter_fields = {"unread": ("read_at__isnull", serializers.BooleanField())}
    ordering_fields = ["created_at"]

    def get_queryset(self) -> QuerySet[Notification]:
        return Notification.objects.filter(user_id=int(self.request.user.pk or 0))

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str) -> Response:
        user_id = int(request.user.pk or 0)
        notification = notification_mark_read(user_id=user_id, notification_id=_path_id(self))
        if notification is None:
            raise exceptions.NotFound()
        return Response(self.get_serializer(notification).data)


@extend_schema_view(
    list=extend_schema(summary="List the organization's audit log (owners and admins)", tags=["audit"])
)
class AuditEventViewSet(ApiViewSet):
    """The audit log: every change in the organization, newest first. Read only, for good."""

    api_resource = "audit"
    read_role = Membership.Role.ADMIN
    serializer_class = api_serializers.AuditEventSerializer
    filter_fields = {
        "actor_id": ("actor_id", serializers.IntegerField(min_value=1, max_value=2**63 - 1)),
        "action": ("action", serializers.ChoiceField(choices=AuditAction.choices)),
        "created_after": ("created_at__gte", serializers.DateTimeField()),
        "created_before": ("created_at__lt", serializers.DateTimeField()),
    }
    ordering_fields = ["created_at"]

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return audit_list()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class BillingView(ApiView):
    """Read only: plans change through Stripe's checkout and portal, on the billing page."""

    api_resource = "billing"
    serializer_class = api_serializers.BillingSerializer
    filter_backends: list = []
    pagination_class = None

    @extend_schema(summary="The organization's plan, billing status and seats", tags=["billing"])
    def get(self, request: Request) -> Response:
        tenant = request.tenant  # type: ignore[attr-defined]
        account = billing_account_get(tenant=tenant)
        return Response(
            {
                "plan": account.plan,
                "plan_name": account.current_plan.name,
                "status": account.status,
                "seat_limit": account.seat_limit,
                "seats_used": seats_used(tenant=tenant),
            }
        )


@extend_schema_view(
    list=extend_schema(
        summary="List report jobs (admins: all; members: their own)",
        tags=["reports"],
        responses={200: api_serializers.ReportJobSerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="One report job: poll its state and progress",
        tags=["reports"],
        responses={200: api_serializers.ReportJobSerializer},
    ),
    create=extend_schema(
        summary="Start a report (202: queued; poll the Location)",
        tags=["reports"],
        request=api_serializers.ReportRequestSerializer,
        responses={202: api_serializers.ReportJobSerializer},
    ),
    download=extend_schema(
        summary="The finished report's file (404 until it has succeeded)",
        tags=["reports"],
        request=None,
        # The file's own type (text/csv, the xlsx type), one entry per kind of report.
        responses={(200, content_type): OpenApiTypes.BINARY for content_type in REPORT_CONTENT_TYPES},
    ),
)
class ReportViewSet(ApiViewSet):
    """Report jobs, built by the worker; a key sees what its creator may see."""

    api_resource = "reports"
    serializer_class = api_serializers.ReportJobSerializer
    ordering_fields = ["created_at"]

    def _membership(self) -> Membership:
        return tenant_access(user=self.request.user, tenant=self.request.tenant)  # type: ignore[attr-defined]

    def get_queryset(self) -> QuerySet[Job]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return Job.objects.none()
        return jobs_visible_to(membership=self._membership())

    def _job(self) -> Job:
        job = self.get_queryset().filter(pk=_path_id(self)).first()
        if job is None:
            raise exceptions.NotFound()
        return job

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(self._job()).data)

    def create(self, request: Request) -> Response:
        data = api_serializers.ReportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # One rule for the page and the API: the form checks kinds and date ranges.
        form = ReportRequestForm(data=dict(data.validated_data))
        if not form.is_valid():
            raise exceptions.ValidationError(
                {field: [str(error) for error in errors] for field, errors in form.errors.items()}
            )
        job = job_request(
            kind=form.cleaned_data["kind"], params=form.params(), user_id=int(request.user.pk or 0)
        )
        response = Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = request.build_absolute_uri(f"{job.pk}/")
        return response

    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str) -> HttpResponseBase:
        job = self._job()
        if job.status != Job.Status.DONE or not job.file:
            raise exceptions.NotFound("This report has no file yet.")
        spec = SPECS[Job.Kind(job.kind)]
        response = FileResponse(
            job.file.open("rb"),
            as_attachment=True,
            filename=f"{job.kind}-{job.pk}.{spec.extension}",
            content_type=spec.content_type,
        )
        response["Cache-Control"] = "private, no-store"
        return response
