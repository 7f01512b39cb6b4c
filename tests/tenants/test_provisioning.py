"""tenant_provision: a template copy that is indistinguishable from a migrated schema."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_context

from activity.models import AuditEvent
from tenants.models import Domain, Tenant
from tenants.schema_template import quote, schema_copy_template, template_schema
from tenants.services import tenant_provision
from tests.tenants.catalog import applied_migrations, catalog_snapshot
from tests.tenants.conftest import schema_names, unique_slug


def migrate_fresh_schema(name: str) -> None:
    """What django-tenants does for a tenant without a template: CREATE SCHEMA, then migrate."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quote(name)}")
    call_command("migrate_schemas", schema_name=name, tenant=True, interactive=False, verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_provisioned_schema_matches_a_migrated_one(committed_tenant, schemas_to_drop):
    tenant = committed_tenant()
    migrated = "cmp_" + unique_slug()
    schemas_to_drop.append(migrated)
    migrate_fresh_schema(migrated)

    provisioned_catalog = catalog_snapshot(tenant.schema_name)
    migrated_catalog = catalog_snapshot(migrated)

    # The comparison must have something to compare: every tenant app's tables are there.
    tables = {row[0] for row in migrated_catalog["relations"] if row[1] == "r"}
    assert {AuditEvent._meta.db_table, "django_migrations"} <= tables
    assert migrated_catalog["django_migrations"]
    for section, expected in migrated_catalog.items():
        assert provisioned_catalog[section] == expected, f"{section} differ"


def test_provisioned_schema_serves_writes_like_a_migrated_one(make_tenant):
    """Copied identity columns have their own sequences, positioned past the copied rows."""
    first, second = make_tenant(), make_tenant()
    with schema_context(first.schema_name):
        first_ids = [AuditEvent.objects.create(action="x").pk for _ in range(3)]
    with schema_context(second.schema_name):
        second_id = AuditEvent.objects.create(action="x").pk
    with schema_context(template_schema()):
        assert not AuditEvent.objects.exists()  # provisioning never writes into the template
    assert first_ids == sorted(first_ids)
    # Each schema counts on its own: the provisioning audit row took id 1 in both.
    assert second_id == first_ids[0]


def test_failure_midway_leaves_nothing_behind(make_tenant):
    make_tenant(custom_domain="shop.example.com")
    slug = "latecomer"
    schemas_before = schema_names()

    with pytest.raises(ValidationError) as caught:
        tenant_provision(name="Latecomer", slug=slug, custom_domain="Shop.Example.com")

    assert caught.value.message_dict == {"domain": ["The domain shop.example.com is already in use."]}
    assert not Tenant.objects.filter(slug=slug).exists()
    assert not Domain.objects.filter(domain__startswith=f"{slug}.").exists()
    assert schema_names() == schemas_before
    assert "t_latecomer" not in schema_names()
    # The name is free again: nothing half-made blocks the next attempt.
    tenant = tenant_provision(name="Latecomer", slug=slug)
    assert tenant.schema_name == "t_latecomer"


@pytest.mark.django_db(transaction=True)
def test_failure_midway_leaves_nothing_behind_when_provisioning_owns_the_transaction(
    committed_tenant,
):
    """The same, with tenant_provision as the outermost transaction (a real ROLLBACK)."""
    committed_tenant(custom_domain="taken.example.com")
    slug = unique_slug()
    schemas_before = schema_names()
    with pytest.raises(ValidationError, match="already in use"):
        tenant_provision(name="Late", slug=slug, custom_domain="taken.example.com")
    assert not Tenant.objects.filter(slug=slug).exists()
    assert not Domain.objects.filter(domain__startswith=f"{slug}.").exists()
    assert schema_names() == schemas_before


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("www", "“www” is reserved; choose another subdomain."),
        ("admin", "“admin” is reserved; choose another subdomain."),
        ("api", "“api” is reserved; choose another subdomain."),
        ("my_org", "Use lowercase letters, digits and hyphens; start and end with a letter or digit."),
        ("-acme", "Use lowercase letters, digits and hyphens; start and end with a letter or digit."),
        ("acme-", "Use lowercase letters, digits and hyphens; start and end with a letter or digit."),
        ("acme.co", "Use lowercase letters, digits and hyphens; start and end with a letter or digit."),
        ("a" * 41, "Use at most 40 characters."),
        ("xn--acme", "Do not use two hyphens in a row."),
        ("", "Enter a subdomain."),
    ],
)
def test_bad_slugs_are_refused_on_the_slug_field(db, slug, message):
    schemas_before = schema_names()
    with pytest.raises(ValidationError) as caught:
        tenant_provision(name="Acme", slug=slug)
    assert caught.value.message_dict["slug"] == [message]
    assert not Tenant.objects.exists()
    assert schema_names() == schemas_before


def test_uppercase_slug_is_refused_by_the_model_and_lowered_by_the_service(make_tenant):
    """DNS ignores case, so the service folds it; the stored slug must still be lower case."""
    tenant = Tenant(name="Acme", slug="Acme", schema_name="t_acme")
    with pytest.raises(ValidationError) as caught:
        tenant.full_clean()
    assert "slug" in caught.value.message_dict

    tenant = make_tenant(slug="  Acme ")
    assert (tenant.slug, tenant.schema_name) == ("acme", "t_acme")
    assert tenant.domains.get().domain == f"acme.{settings.SAAS_BASE_DOMAIN}"


def test_taken_slug_is_refused_on_the_slug_field(make_tenant):
    make_tenant(slug="acme")
    for attempt in ("acme", "ACME"):
        with pytest.raises(ValidationError) as caught:
            tenant_provision(name="Other", slug=attempt)
        assert caught.value.message_dict["slug"] == ["This subdomain is already taken."]
    assert Tenant.objects.filter(slug="acme").count() == 1


def test_provisioned_tenant_is_complete(make_tenant):
    tenant = make_tenant(slug="complete", name="Complete Ltd", custom_domain="app.complete.example")
    domains = {(d.domain, d.is_primary) for d in tenant.domains.all()}
    assert domains == {(f"complete.{settings.SAAS_BASE_DOMAIN}", True), ("app.complete.example", False)}
    with schema_context(tenant.schema_name):
        assert list(AuditEvent.objects.values_list("action", "target")) == [
            ("tenant.provisioned", "complete")
        ]
    assert applied_migrations(tenant.schema_name) == applied_migrations(template_schema())


@pytest.mark.django_db(transaction=True)
def test_migrate_schemas_brings_the_template_up_to_date(schemas_to_drop):
    """After `migrate_schemas`, the template has every migration public has (tenant apps too)."""
    template = template_schema()
    tenant_app_labels = {app.rsplit(".", 1)[-1] for app in settings.TENANT_APPS}
    try:
        # The template falls behind, as it would when new tenant migrations are deployed.
        call_command(
            "migrate_schemas",
            "activity",
            "zero",
            schema_name=template,
            tenant=True,
            interactive=False,
            verbosity=0,
        )
        behind = {app for app, _ in applied_migrations(template)}
        assert "activity" not in behind
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [f"{template}.{AuditEvent._meta.db_table}"])
            assert cursor.fetchone() == (None,)

        call_command("migrate_schemas", interactive=False, verbosity=0)
    finally:
        # Leave the template usable for the next tests whatever happened above.
        call_command("migrate_schemas", schema_name=template, tenant=True, interactive=False, verbosity=0)

    # The tenant apps' migrations, as public records them (shared apps' run in public only).
    in_template = [row for row in applied_migrations(template) if row[0] in tenant_app_labels]
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM public.django_migrations ORDER BY app, name")
        in_public = [tuple(row) for row in cursor.fetchall() if row[0] in tenant_app_labels]
    assert in_template == in_public
    assert AuditEvent._meta.app_label in {app for app, _ in in_template}
    # And new tenants get the current tables.
    slug = unique_slug()
    tenant = tenant_provision(name="After", slug=slug)
    schemas_to_drop.append(tenant.schema_name)
    with schema_context(tenant.schema_name):
        assert AuditEvent.objects.filter(action="tenant.provisioned").count() == 1


def test_missing_template_is_reported_with_the_command_that_makes_it(db):
    """Before the first `migrate_schemas` there is no template: provisioning says what to run.

    (Rebuilding it from nothing is what creating the test database does, through the same
    command, so that path runs before every fresh test run.)
    """
    template = template_schema()
    with connection.cursor() as cursor:  # undone with the test's transaction
        cursor.execute(f"ALTER SCHEMA {quote(template)} RENAME TO {quote(template + '_away')}")
    with pytest.raises(RuntimeError, match=r"run `python manage.py migrate_schemas` first"):
        tenant_provision(name="Early", slug="early")
    assert not Tenant.objects.filter(slug="early").exists()
    assert "t_early" not in schema_names()


# DDL of the kinds Django's schema editor emits (identity keys, deferrable foreign keys between
# tenant tables, unique and check constraints, partial, functional and covering indexes,
# db_default, db_comment, GeneratedField, a dropped column) plus rows a data migration wrote.
RICH_TEMPLATE_DDL = """
CREATE TABLE django_migrations (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    app varchar(255) NOT NULL, name varchar(255) NOT NULL, applied timestamptz NOT NULL);
INSERT INTO django_migrations (app, name, applied) VALUES ('shop', '0001_initial', now());
CREATE TABLE shop_category (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name varchar(50) NOT NULL CONSTRAINT shop_category_name_key UNIQUE,
    parent_id bigint NULL);
ALTER TABLE shop_category ADD CONSTRAINT shop_category_parent_id_fk_shop_category_id
    FOREIGN KEY (parent_id) REFERENCES shop_category (id) DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX shop_category_parent_id_idx ON shop_category (parent_id);
CREATE TABLE shop_product (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    category_id bigint NOT NULL,
    legacy_code text,
    sku varchar(20) NOT NULL,
    price numeric(10, 2) NOT NULL DEFAULT 0,
    quantity integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT statement_timestamp(),
    total numeric GENERATED ALWAYS AS (price * quantity) STORED,
    CONSTRAINT shop_product_quantity_check CHECK (quantity >= 0),
    CONSTRAINT shop_product_category_sku_uniq UNIQUE (category_id, sku));
ALTER TABLE shop_product DROP COLUMN legacy_code;
ALTER TABLE shop_product ADD CONSTRAINT shop_product_category_id_fk
    FOREIGN KEY (category_id) REFERENCES shop_category (id) DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX shop_product_category_id_idx ON shop_product (category_id);
CREATE INDEX shop_product_sku_lower_idx ON shop_product (lower(sku::text));
CREATE INDEX shop_product_cheap_idx ON shop_product (price) INCLUDE (sku) WHERE price < 10;
CREATE UNIQUE INDEX shop_product_sku_ci_uniq ON shop_product (upper(sku::text), category_id);
COMMENT ON TABLE shop_product AS_COMMENT;
COMMENT ON COLUMN shop_product.sku IS 'Stock keeping unit';
INSERT INTO shop_category (name) VALUES ('Tools'), ('Garden');
""".replace("AS_COMMENT", "IS 'Things we sell'")


def make_template(name: str, ddl: str) -> None:
    """A stand-in template schema, made inside the test's transaction (so undone with it)."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quote(name)}")
    with schema_context(name), connection.cursor() as cursor:
        cursor.execute(ddl)  # unqualified names land in the first schema on the search path


def test_template_copy_keeps_every_object_django_can_create(db, settings):
    """The copier, against a template richer than today's tenant apps (they will grow)."""
    template = "rich_" + unique_slug()
    make_template(template, RICH_TEMPLATE_DDL)
    settings.TENANT_TEMPLATE_SCHEMA = template

    copy = "t_rich"
    schema_copy_template(schema_name=copy)

    copied, source = catalog_snapshot(copy), catalog_snapshot(template)
    for section, expected in source.items():
        assert copied[section] == expected, f"{section} differ"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name FROM {quote(copy)}.shop_category ORDER BY id")
        assert cursor.fetchall() == [("Tools",), ("Garden",)]
        # The copy's own identity sequence continues after the copied rows.
        cursor.execute(f"INSERT INTO {quote(copy)}.shop_category (name) VALUES ('New') RETURNING id")
        assert cursor.fetchone() == (3,)
        # Foreign keys point inside the tenant's schema, not back into the template.
        cursor.execute(
            f"INSERT INTO {quote(copy)}.shop_product (category_id, sku, quantity) VALUES (3, 'X', 2)"
        )


@pytest.mark.parametrize(
    ("extra_ddl", "named"),
    [
        ("CREATE VIEW shop_cheap AS SELECT id FROM shop_product WHERE price < 10", "view shop_cheap"),
        (
            "CREATE TABLE shop_legacy (id serial PRIMARY KEY)",
            "sequence not owned by an identity column shop_legacy_id_seq",
        ),
        ("CREATE TYPE shop_colour AS ENUM ('red', 'green')", "type shop_colour"),
        (
            "CREATE FUNCTION shop_touch() RETURNS trigger LANGUAGE plpgsql AS "
            "'BEGIN RETURN NEW; END'; CREATE TRIGGER shop_touch BEFORE UPDATE ON shop_product "
            "FOR EACH ROW EXECUTE FUNCTION shop_touch()",
            "function shop_touch",
        ),
    ],
)
def test_template_copy_refuses_objects_it_cannot_reproduce(db, settings, extra_ddl, named):
    """A RunSQL migration can add what the copier does not rebuild: say so, copy nothing."""
    template = "rich_" + unique_slug()
    make_template(template, RICH_TEMPLATE_DDL + ";" + extra_ddl)
    settings.TENANT_TEMPLATE_SCHEMA = template
    schemas_before = schema_names()

    with pytest.raises(RuntimeError, match="cannot reproduce: " + named + r"\."):
        schema_copy_template(schema_name="t_refused")
    assert schema_names() == schemas_before
