from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("reports/", views.reports, name="reports"),
    path("reports/<int:job_id>/download/", views.report_download, name="report_download"),
    path("audit-log/", views.audit_log, name="audit_log"),
    path("settings/", views.settings_organization, name="settings_organization"),
    path("settings/logo/", views.settings_logo, name="settings_logo"),
    path("settings/two-factor/", views.settings_two_factor, name="settings_two_factor"),
    path("settings/delete/", views.organization_delete, name="settings_delete"),
    path("settings/export/", views.organization_export, name="settings_export"),
    path(
        "settings/export/<int:export_id>/download/",
        views.organization_export_download,
        name="settings_export_download",
    ),
    path("settings/delete/cancel/", views.organization_delete_cancel, name="settings_delete_cancel"),
    path("settings/leave/", views.organization_leave, name="organization_leave"),
    path("settings/transfer/", views.ownership_transfer, name="ownership_transfer"),
    path("settings/members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("settings/members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
]
