from django.contrib import admin, messages

from tenants.migration import schemas_behind
from tenants.models import Domain, SchemaMigration, Tenant


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    # The plan is billing's: see and filter it under Billing > Billing accounts.
    list_display = ["name", "slug", "schema_name", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["name", "slug", "schema_name", "domains__domain"]
    readonly_fields = ["schema_name", "created_at", "updated_at"]
    inlines = [DomainInline]

    def has_add_permission(self, request):
        # A tenant needs a schema: create it with `manage.py create_tenant` or sign-up.
        return False


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "is_primary"]
    list_filter = ["is_primary"]
    search_fields = ["domain", "tenant__name", "tenant__slug"]
    list_select_related = ["tenant"]
    autocomplete_fields = ["tenant"]


@admin.register(SchemaMigration)
class SchemaMigrationAdmin(admin.ModelAdmin):
    """What `migrate_schemas` did per tenant schema; the page also says which are behind now."""

    list_display = ["schema_name", "state", "attempts", "started_at", "finished_at", "error_line"]
    list_filter = ["state"]
    search_fields = ["schema_name", "error"]
    readonly_fields = ["schema_name", "target", "state", "attempts", "started_at", "finished_at", "error"]

    @admin.display(description="error")
    def error_line(self, row: SchemaMigration) -> str:
        return row.error.splitlines()[-1][:120] if row.error else ""

    def changelist_view(self, request, extra_context=None):
        behind = schemas_behind()  # one catalog query over every schema
        if behind:
            shown = ", ".join(sorted(behind)[:20]) + (" …" if len(behind) > 20 else "")
            self.message_user(
                request,
                f"{len(behind)} schema(s) behind the code: {shown}. Run manage.py migrate_schemas.",
                level=messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
