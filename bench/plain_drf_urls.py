"""bench/api.py's peer: the projects list as plain DRF would serve it (no tenancy, no key)."""

from django.urls import path
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination

from projects.models import Project


class PlainProjectSerializer(serializers.ModelSerializer):
    owner_email = serializers.EmailField(source="owner.email", read_only=True, allow_null=True)

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "status",
            "owner_id",
            "owner_email",
            "created_at",
            "updated_at",
            "version",
        ]


class Pages(CursorPagination):
    page_size = 50
    ordering = "-created_at"


class PlainProjectList(generics.ListAPIView):
    queryset = Project.objects.select_related("owner")
    serializer_class = PlainProjectSerializer
    pagination_class = Pages


urlpatterns = [path("api/v1/projects/", PlainProjectList.as_view())]
