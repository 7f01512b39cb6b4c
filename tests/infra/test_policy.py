"""Policy tests over terraform/: what the issue requires of the network, data stores, secrets and IAM.

Static checks of the source (no provider, no cloud): python-hcl2 parses every file, and each
test reads the resources it is about.
"""

import re

import pytest

from tests.infra import terraform_model as tf
from tests.infra.conftest import REPO

LOAD_BALANCER_RANGES = {"35.191.0.0/16", "130.211.0.0/22"}
IAP_RANGE = "35.235.240.0/20"
BASIC_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
# Every role any account holds; a new one is a deliberate edit here.
PROJECT_ROLES = {"roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/cloudtrace.agent"}
RESOURCE_ROLES = {
    "roles/secretmanager.secretAccessor",
    "roles/storage.objectUser",
    "roles/artifactregistry.reader",
    "roles/artifactregistry.writer",
    "roles/run.developer",
    "roles/iam.serviceAccountUser",
    "roles/iam.serviceAccountTokenCreator",  # each role on its own account only (signed file URLs)
    "roles/iam.workloadIdentityUser",
}
SECRET_VARIABLES = {
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "SENTRY_DSN",
    "EMAIL_URL",
}


def test_every_terraform_file_parses():
    files = tf.tf_files()
    assert len(files) >= 40
    for path in files:
        assert isinstance(tf.parsed(path), dict), path
    assert {block.module for block in tf.blocks()} >= {
        "envs/staging",
        "envs/production",
        "bootstrap",
        "modules/stack",
    }


# --- Firewall ---------------------------------------------------------------------------------
def firewall_rules():
    rules = tf.resources("google_compute_firewall")
    assert rules, "no firewall rules"
    return rules


def test_no_ingress_is_allowed_from_anywhere():
    for rule in firewall_rules():
        sources = tf.resolve(rule.body.get("source_ranges", []), rule.module)
        if rule.body.get("allow"):
            assert "0.0.0.0/0" not in sources, f"{rule.name} allows ingress from anywhere"
            assert rule.body.get("direction") == "INGRESS"


def test_http_is_open_only_to_the_load_balancer_on_80_or_443():
    allowing = [rule for rule in firewall_rules() if rule.body.get("allow")]
    http = [rule for rule in allowing if rule.name == "allow_load_balancer"]
    assert len(http) == 1
    assert set(tf.resolve(http[0].body["source_ranges"], http[0].module)) == LOAD_BALANCER_RANGES
    port_variable = tf.variable("modules/network", "http_port")
    assert port_variable["default"] in (80, 443)
    assert "contains([80, 443], var.http_port)" in port_variable["validation"][0]["condition"]
    assert http[0].body["allow"][0]["ports"] == ["${tostring(var.http_port)}"]
    assert http[0].body["target_service_accounts"], "targets named service accounts, not the whole network"


def test_ssh_only_through_iap():
    for rule in firewall_rules():
        for allow in rule.body.get("allow", []):
            if "22" in allow.get("ports", []) or allow.get("protocol") == "all":
                assert tf.resolve(rule.body["source_ranges"], rule.module) == [IAP_RANGE], rule.name
    every_other = [
        rule for rule in firewall_rules() if rule.body.get("allow") and rule.name != "allow_iap_ssh"
    ]
    for rule in every_other:
        assert set(tf.resolve(rule.body["source_ranges"], rule.module)) <= LOAD_BALANCER_RANGES, rule.name


def test_everything_else_is_denied():
    deny = [rule for rule in firewall_rules() if rule.body.get("deny")]
    assert len(deny) == 1
    assert deny[0].body["source_ranges"] == ["0.0.0.0/0"]
    assert deny[0].body["deny"][0]["protocol"] == "all"
    allow_priorities = [rule.body["priority"] for rule in firewall_rules() if rule.body.get("allow")]
    assert deny[0].body["priority"] > max(allow_priorities)


def test_nothing_but_the_load_balancer_has_a_public_address():
    for template in tf.resources("google_compute_instance_template"):
        for interface in template.body["network_interface"]:
            assert "access_config" not in interface, f"{template.module} gives instances an external IP"
    assert not tf.resources("google_compute_address"), "no regional static addresses"
    external = [
        block
        for block in tf.resources("google_compute_global_address")
        if block.body.get("address_type") == "EXTERNAL"
    ]
    assert [block.module for block in external] == ["modules/load_balancer"]
    for instance in tf.resources("google_sql_database_instance"):
        assert instance.body["settings"][0]["ip_configuration"][0]["ipv4_enabled"] is False


# --- Cloud SQL --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sql():
    (instance,) = tf.resources("google_sql_database_instance")
    return instance


def test_cloud_sql_is_private_only_with_tls_required(sql):
    ip = sql.body["settings"][0]["ip_configuration"][0]
    assert ip["ipv4_enabled"] is False
    assert ip["private_network"] == "${var.network_id}"
    assert ip["ssl_mode"] in ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")
    assert "authorized_networks" not in ip


def test_cloud_sql_has_backups_pitr_and_deletion_protection(sql):
    settings = sql.body["settings"][0]
    backup = settings["backup_configuration"][0]
    assert backup["enabled"] is True and backup["point_in_time_recovery_enabled"] is True
    assert tf.variable("modules/database", "backup_retention_count")["default"] >= 7
    assert sql.body["deletion_protection"] == "${var.deletion_protection}"
    assert settings["deletion_protection_enabled"] == "${var.deletion_protection}"
    for module in ("modules/database", "modules/stack", "envs/staging", "envs/production"):
        assert tf.variable(module, "deletion_protection")["default"] is True, module


def test_cloud_sql_has_the_flags_for_many_schemas_and_query_insights(sql):
    settings = sql.body["settings"][0]
    flags = {flag["name"]: flag["value"] for flag in settings["database_flags"]}
    assert flags["max_locks_per_transaction"] == "${tostring(var.max_locks_per_transaction)}"
    assert tf.variable("modules/database", "max_locks_per_transaction")["default"] >= 256
    for flag, variable in (
        ("autovacuum_max_workers", "autovacuum_max_workers"),
        ("autovacuum_naptime", "autovacuum_naptime_seconds"),
        ("autovacuum_vacuum_cost_limit", "autovacuum_vacuum_cost_limit"),
    ):
        assert flags[flag] == f"${{tostring(var.{variable})}}"
    assert tf.variable("modules/database", "autovacuum_max_workers")["default"] > 3
    assert settings["insights_config"][0]["query_insights_enabled"] is True


def test_production_database_and_redis_are_highly_available():
    production = tf.module_call("envs/production", "stack")
    staging = tf.module_call("envs/staging", "stack")
    assert production["database_high_availability"] is True
    assert production["redis_tier"] == "STANDARD_HA"
    assert staging["database_high_availability"] is False


def test_the_database_password_never_enters_state():
    (user,) = tf.resources("google_sql_user")
    assert "password" not in user.body
    assert user.body["password_wo"] == "${ephemeral.random_password.user.result}"
    versions = tf.resources("google_secret_manager_secret_version")
    write_only = [version for version in versions if version.name == "write_only"]
    assert write_only and "secret_data" not in write_only[0].body


# --- Memorystore ------------------------------------------------------------------------------
def test_memorystore_has_auth_and_tls_from_creation():
    (redis,) = tf.resources("google_redis_instance")
    assert redis.body["auth_enabled"] is True
    assert redis.body["transit_encryption_mode"] == "SERVER_AUTHENTICATION"
    assert redis.body["connect_mode"] == "PRIVATE_SERVICE_ACCESS"
    redis_url = tf.module_locals("modules/stack")["redis_url"]
    assert (
        redis_url.startswith("rediss://")
        and "ssl_cert_reqs=required" in redis_url
        and "ssl_ca_certs=" in redis_url
    )


# --- Secrets ----------------------------------------------------------------------------------
def test_every_secret_comes_from_secret_manager():
    catalogue = tf.module_locals("modules/stack")["secret_catalogue"]
    assert {entry["env"] for entry in catalogue.values()} >= SECRET_VARIABLES
    # The processes' plain environment holds none of them: only references for the entry point.
    common_env = tf.module_locals("modules/stack")["common_env"]
    assert not SECRET_VARIABLES & set(common_env)
    for env_root in ("envs/staging", "envs/production"):
        for role, config in tf.module_call(env_root, "stack")["roles"].items():
            assert not SECRET_VARIABLES & set(config.get("env", {})), f"{env_root} {role}"
    compute_env = tf.variable("modules/compute_role", "env")
    assert "DATABASE_URL" in compute_env["validation"][0]["condition"]
    stack = tf.source_text("modules/stack")
    assert "merge(local.common_env, each.value.env, local.secret_references[each.key])" in stack
    assert 'merge(local.common_env, local.secret_references["release"])' in stack
    # No secret value in any variable default or tfvars example.
    for block in tf.blocks():
        if (
            block.kind == "variable"
            and re.search(r"password|secret|token|key$", block.name)
            and "default" in block.body
        ):
            assert not isinstance(block.body["default"], str) or not block.body["default"], block.name
    entrypoint = (REPO / "docker" / "entrypoint.py").read_text()
    for reference in ("SECRET_ENV", "SECRET_ENV_OPTIONAL", "SECRET_FILES"):
        assert reference in entrypoint and reference in stack


def test_secret_access_is_granted_per_secret_never_project_wide():
    access = tf.resources("google_secret_manager_secret_iam_member")
    assert access and access[0].body["role"] == "roles/secretmanager.secretAccessor"
    for grant in tf.resources("google_project_iam_member"):
        assert "secretmanager" not in str(grant.body["role"])


# --- IAM --------------------------------------------------------------------------------------
def all_role_literals() -> set[str]:
    """Roles named in resources and locals (variables.tf only names roles to refuse them)."""
    text = "\n".join(path.read_text() for path in tf.tf_files() if path.name != "variables.tf")
    return set(re.findall(r'"(roles/[A-Za-z0-9_.]+)"', text))


def test_no_basic_roles_anywhere():
    assert not all_role_literals() & BASIC_ROLES
    for kind in ("google_project_iam_binding", "google_project_iam_policy", "google_service_account_key"):
        assert not tf.resources(kind), f"{kind}: authoritative IAM or a key"


def test_every_role_granted_is_on_the_list():
    assert all_role_literals() <= PROJECT_ROLES | RESOURCE_ROLES
    stack = tf.module_locals("modules/stack")
    assert set(stack["runtime_project_roles"]) <= PROJECT_ROLES
    accounts = stack["accounts"]
    # Each account names its project roles explicitly: the role accounts, release, deployer.
    assert "project_roles = local.runtime_project_roles" in accounts
    release = 'release = {description = "Runs the release job (migrate_schemas)", '
    assert release + 'project_roles = ["roles/logging.logWriter"]}' in accounts
    assert "deployer = {" in accounts and "project_roles = []" in accounts


def test_project_wide_grants_exclude_impersonation_and_admin():
    validation = tf.variable("modules/service_accounts", "accounts")["validation"][0]["condition"]
    for role in (
        "roles/owner",
        "roles/editor",
        "roles/iam.serviceAccountUser",
        "roles/iam.serviceAccountTokenCreator",
    ):
        assert role in validation
    for grant in tf.resources("google_project_iam_member"):
        assert grant.body["role"] in (
            "${each.value.role}",
            "${google_project_iam_custom_role.deployer.id}",
        ), grant.module
    acts_as = tf.resources("google_service_account_iam_member")
    assert {grant.body["role"] for grant in acts_as} <= {
        "roles/iam.serviceAccountUser",
        "roles/iam.serviceAccountTokenCreator",  # on itself: the next test
        "roles/iam.workloadIdentityUser",
    }


def test_roles_that_use_the_bucket_sign_its_urls_as_themselves_and_the_app_reads_its_name():
    # Instance credentials cannot sign a URL (no private key); django-storages asks IAM's
    # signBlob instead (GS_IAM_SIGN_BLOB), which needs Token Creator on the signing account.
    (grant,) = [
        grant
        for grant in tf.resources("google_service_account_iam_member")
        if grant.body["role"] == "roles/iam.serviceAccountTokenCreator"
    ]
    assert grant.module == "modules/stack"
    # The account granted on is the member itself, for each role: never another account.
    assert grant.body["for_each"] == "${local.media_accounts}"
    assert grant.body["service_account_id"] == "${module.service_accounts.ids[each.key]}"
    assert grant.body["member"] == "serviceAccount:${each.value}"
    # The same accounts read and write the bucket, and every instance is told its name under
    # the variable the settings read.
    assert tf.module_call("modules/stack", "storage")["writers"] == "${local.media_accounts}"
    (writers,) = [
        grant
        for grant in tf.resources("google_storage_bucket_iam_member")
        if grant.module == "modules/storage"
    ]
    assert writers.body["role"] == "roles/storage.objectUser"
    assert tf.module_locals("modules/stack")["common_env"]["GS_BUCKET_NAME"] == "${module.storage.bucket}"
    settings_source = (REPO / "config" / "settings.py").read_text()
    assert 'GS_BUCKET_NAME = env.str("GS_BUCKET_NAME"' in settings_source
    assert 'GS_IAM_SIGN_BLOB = env.bool("GS_IAM_SIGN_BLOB", default=True)' in settings_source


def test_the_deployer_custom_role_can_roll_groups_but_not_create_or_delete_instances():
    (role,) = tf.resources("google_project_iam_custom_role")
    permissions = role.body["permissions"]
    assert "compute.instanceGroupManagers.update" in permissions
    assert not [p for p in permissions if p.endswith((".create", ".delete", ".setIamPolicy")) or "*" in p]


def test_workload_identity_is_keyed_on_the_repository_id_with_a_condition():
    (provider,) = tf.resources("google_iam_workload_identity_pool_provider")
    condition = provider.body["attribute_condition"]
    for claim in (
        "assertion.repository_id",
        "assertion.repository_owner_id",
        "assertion.ref",
        "assertion.environment",
    ):
        assert claim in condition
    assert provider.body["oidc"][0]["issuer_uri"] == "https://token.actions.githubusercontent.com"
    (binding,) = [
        grant
        for grant in tf.resources("google_service_account_iam_member")
        if grant.module == "modules/github_oidc"
    ]
    assert "/attribute.repository_id/${var.github_repository_id}" in binding.body["member"]
    assert (
        "^[0-9]+$" in tf.variable("modules/github_oidc", "github_repository_id")["validation"][0]["condition"]
    )


# --- Load balancer ----------------------------------------------------------------------------
def test_websockets_have_their_own_backend_with_a_long_timeout():
    call = tf.module_call("modules/stack", "load_balancer")
    assert call["path_rules"] == {"sockets": ["/ws/*"]}
    assert call["backends"]["pages"]["timeout_sec"] == 30
    assert call["backends"]["sockets"]["timeout_sec"] == "${var.websocket_timeout_sec}"
    assert tf.variable("modules/stack", "websocket_timeout_sec")["default"] >= 3600
    # One group may serve both: each backend names its own role's group.
    assert call["backends"]["sockets"]["instance_group"] == "${module.roles[var.sockets_role].instance_group}"
    (url_map,) = [block for block in tf.resources("google_compute_url_map") if block.name == "https"]
    (dynamic,) = url_map.body["path_matcher"][0]["dynamic"]
    assert dynamic["path_rule"]["for_each"] == "${var.path_rules}"


def test_the_certificate_is_a_dns_authorized_wildcard_on_https_only():
    (certificate,) = tf.resources("google_certificate_manager_certificate")
    managed = certificate.body["managed"][0]
    assert managed["domains"] == ["${var.domain}", "*.${var.domain}"]
    assert managed["dns_authorizations"]
    (proxy,) = tf.resources("google_compute_target_https_proxy")
    assert "certificate_map" in proxy.body and "ssl_certificates" not in proxy.body
    (redirect,) = [block for block in tf.resources("google_compute_url_map") if block.name == "redirect"]
    assert redirect.body["default_url_redirect"][0]["https_redirect"] is True
    wildcard = [record for record in tf.resources("google_dns_record_set") if record.name == "wildcard"]
    assert wildcard and wildcard[0].body["name"] == "*.${var.domain}."


# --- Roles, providers, variables ---------------------------------------------------------------
def procfile_roles() -> set[str]:
    return {
        line.split(":", 1)[0]
        for line in (REPO / "Procfile").read_text().splitlines()
        if ":" in line and not line.startswith("#")
    }


def test_every_instance_group_role_is_a_procfile_role_and_release_is_the_job():
    for env_root in ("envs/staging", "envs/production"):
        call = tf.module_call(env_root, "stack")
        roles = set(call["roles"])
        assert roles <= procfile_roles(), f"{env_root}: {roles - procfile_roles()} not in the Procfile"
        assert {"web", "worker", "beat"} <= roles
        assert call["roles"]["beat"]["singleton"] is True
        assert call["roles"]["web"]["http"] is True
        assert call["pages_role"] in roles and call["sockets_role"] in roles
        # Pages on the Procfile's gunicorn role, sockets on its ASGI role (gunicorn's sync
        # workers cannot serve a WebSocket).
        assert (call["pages_role"], call["sockets_role"]) == ("web", "ws"), env_root
        assert call["roles"]["ws"]["http"] is True
    (job,) = tf.resources("google_cloud_run_v2_job")
    assert job.body["template"][0]["template"][0]["containers"][0]["args"] == ["release"]
    assert "release" in procfile_roles()


def test_providers_and_terraform_are_pinned():
    for path in tf.tf_files():
        for block in tf.parsed(path).get("terraform", []):
            assert "required_version" in block, path
            for providers in block.get("required_providers", []):
                for name, spec in providers.items():
                    assert spec.get("version"), f"{path}: {name} has no version constraint"
    for env_root in ("envs/staging", "envs/production"):
        (settings,) = tf.parsed(tf.TERRAFORM / env_root / "versions.tf")["terraform"]
        assert settings["required_providers"][0]["google"]["version"] == "~> 7.0"
        assert "gcs" in settings["backend"][0]


def test_every_variable_and_output_is_described_and_variables_typed():
    for block in tf.blocks():
        if block.kind in ("variable", "output"):
            assert block.body.get("description"), (
                f"{block.module}: {block.kind} {block.name} has no description"
            )
        if block.kind == "variable":
            assert "type" in block.body, f"{block.module}: variable {block.name} has no type"
    validated = [block for block in tf.blocks() if block.kind == "variable" and block.body.get("validation")]
    assert len(validated) >= 30


def test_every_module_and_root_has_a_readme():
    for folder in [*sorted((tf.TERRAFORM / "modules").iterdir()), tf.TERRAFORM / "bootstrap", tf.TERRAFORM]:
        assert (folder / "README.md").is_file(), folder
