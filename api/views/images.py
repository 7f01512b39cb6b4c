"""The organization's logo and the caller's avatar: read the state, upload a new image (PUT).

The upload is `multipart/form-data` with one file part, `image`. It is checked before anything
is stored (images.checks: type from the bytes, size, pixels, decompression bombs); a refusal
is a 400 problem naming the `image` field. A body over REQUEST_BODY_MAX_BYTES is a 413. The
answer is 202: the thumbnails follow from the worker, announced on the socket (`image.ready`)
and visible here as `status: "ready"`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Membership, User
from api.views.base import ApiView
from images.checks import ACCEPTED_LABEL, CheckedImage, image_check
from images.selectors import avatar_get, image_view, logo_get
from images.services import avatar_set, logo_set


class ImageSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["none", "processing", "ready"],
        read_only=True,
        help_text="none: no image yet; processing: uploaded, thumbnails being made; ready: thumbnails exist.",
    )
    thumbnails = serializers.DictField(
        child=serializers.CharField(),
        read_only=True,
        help_text='Square thumbnails by side in pixels ({"32": url, ..., "256": url}) once ready.',
    )


class ImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text=f"{ACCEPTED_LABEL}, at most IMAGE_UPLOAD_MAX_BYTES.")

    def validate_image(self, upload: object) -> CheckedImage:
        try:
            return image_check(file=upload, size=getattr(upload, "size", None))  # type: ignore[arg-type]
        except ValidationError as error:
            raise serializers.ValidationError(error.message, code=error.code) from None


class _ImageView(ApiView):
    parser_classes = [MultiPartParser]
    filter_backends: list = []
    pagination_class = None
    serializer_class = ImageSerializer
    max_body_bytes = settings.REQUEST_BODY_MAX_BYTES

    def _checked(self, request: Request) -> CheckedImage:
        upload = ImageUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        return upload.validated_data["image"]


class OrganizationLogoView(_ImageView):
    api_resource = "organization"
    write_role = Membership.Role.ADMIN

    @extend_schema(summary="The organization's logo", tags=["organization"], responses=ImageSerializer)
    def get(self, request: Request) -> Response:
        return Response(image_view(logo_get(tenant=request.tenant)))  # type: ignore[attr-defined]

    @extend_schema(
        summary="Upload the organization's logo (owners and admins); thumbnails follow",
        tags=["organization"],
        request={"multipart/form-data": ImageUploadSerializer},
        responses={202: ImageSerializer},
    )
    def put(self, request: Request) -> Response:
        image = self._checked(request)
        logo = logo_set(actor=request.user, tenant=request.tenant, image=image)  # type: ignore[arg-type, attr-defined]
        return Response(image_view(logo), status=status.HTTP_202_ACCEPTED)


class MyAvatarView(_ImageView):
    # A key acts as its creator: their avatar.
    api_resource = "profile"

    @extend_schema(summary="Your avatar", tags=["profile"], responses=ImageSerializer)
    def get(self, request: Request) -> Response:
        return Response(image_view(avatar_get(user=self._user(request))))

    @extend_schema(
        summary="Upload your avatar; thumbnails follow",
        tags=["profile"],
        request={"multipart/form-data": ImageUploadSerializer},
        responses={202: ImageSerializer},
    )
    def put(self, request: Request) -> Response:
        image = self._checked(request)
        avatar = avatar_set(user=self._user(request), image=image)
        return Response(image_view(avatar), status=status.HTTP_202_ACCEPTED)

    @staticmethod
    def _user(request: Request) -> User:
        user = request.user
        assert isinstance(user, User)  # TenantApiPermission let only a member (or a member's key) in
        return user
