# One environment: everything the app runs on, composed from the modules. The role list is a
# variable: instance groups, service accounts, secret access and firewall targets follow it.

locals {
  name      = "saas-${var.environment}"
  image_tag = coalesce(var.image_tag, var.environment)
  image     = "${module.registry.image}:${local.image_tag}"

  # Every secret the app reads, how it reaches the process, and who writes it.
  secret_catalogue = {
    "secret-key"             = { description = "Django SECRET_KEY", source = "write_only", env = "SECRET_KEY", file = "", required = true, everyone = true }
    "database-url"           = { description = "DATABASE_URL with the generated password", source = "write_only", env = "DATABASE_URL", file = "", required = true, everyone = true }
    "redis-url"              = { description = "REDIS_URL with the AUTH string, TLS", source = "terraform", env = "REDIS_URL", file = "", required = true, everyone = true }
    "cloudsql-ca"            = { description = "Cloud SQL server CA (PEM)", source = "terraform", env = "", file = "/tmp/secrets/cloudsql-ca.pem", required = true, everyone = true }
    "redis-ca"               = { description = "Memorystore server CA (PEM)", source = "terraform", env = "", file = "/tmp/secrets/redis-ca.pem", required = true, everyone = true }
    "sentry-dsn"             = { description = "Sentry DSN", source = "operator", env = "SENTRY_DSN", file = "", required = false, everyone = true }
    "email-url"              = { description = "EMAIL_URL (SMTP with credentials)", source = "operator", env = "EMAIL_URL", file = "", required = true, everyone = false }
    "stripe-secret-key"      = { description = "Stripe secret key", source = "operator", env = "STRIPE_SECRET_KEY", file = "", required = false, everyone = false }
    "stripe-webhook-secret"  = { description = "Stripe webhook signing secret", source = "operator", env = "STRIPE_WEBHOOK_SECRET", file = "", required = false, everyone = false }
    "stripe-publishable-key" = { description = "Stripe publishable key", source = "operator", env = "STRIPE_PUBLISHABLE_KEY", file = "", required = false, everyone = false }
  }

  # Secrets each role reads: the common ones plus its extra_secrets; release only the common.
  role_secrets = merge(
    { for role, config in var.roles : role => concat([for name, secret in local.secret_catalogue : name if secret.everyone], config.extra_secrets) },
    { release = [for name, secret in local.secret_catalogue : name if secret.everyone] },
  )

  secret_references = {
    for role, names in local.role_secrets : role => {
      SECRET_ENV          = join(",", [for name in names : "${local.secret_catalogue[name].env}=${module.secrets.latest[name]}" if local.secret_catalogue[name].env != "" && local.secret_catalogue[name].required])
      SECRET_ENV_OPTIONAL = join(",", [for name in names : "${local.secret_catalogue[name].env}=${module.secrets.latest[name]}" if local.secret_catalogue[name].env != "" && !local.secret_catalogue[name].required])
      SECRET_FILES        = join(",", [for name in names : "${local.secret_catalogue[name].file}=${module.secrets.latest[name]}" if local.secret_catalogue[name].file != ""])
    }
  }

  common_env = {
    SAAS_ENVIRONMENT     = "production" # the settings' mode; staging differs by project, not by code path
    SAAS_BASE_DOMAIN     = var.domain
    LOG_FORMAT           = "json"
    CONN_HEALTH_CHECKS   = "true"
    GS_BUCKET_NAME       = module.storage.bucket # switches default storage to the bucket
    GOOGLE_CLOUD_PROJECT = var.project_id
    SAAS_DEPLOYMENT      = var.environment
  }

  # Project-level roles of each account; everything narrower is granted on its resource.
  runtime_project_roles = ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/cloudtrace.agent"]
  accounts = merge(
    { for role in keys(var.roles) : role => { description = "Runs the ${role} Procfile role", project_roles = local.runtime_project_roles } },
    {
      release  = { description = "Runs the release job (migrate_schemas)", project_roles = ["roles/logging.logWriter"] }
      deployer = { description = "GitHub Actions deploys: pushes the image, runs the release job, rolls the groups", project_roles = [] }
    },
  )
  runtime_accounts = { for key, email in module.service_accounts.emails : key => email if key != "deployer" }
  deployer         = { deployer = module.service_accounts.emails["deployer"] }
  http_roles       = [for role, config in var.roles : role if config.http]
  # The roles that read and write the bucket and sign its URLs (beat touches no file).
  media_accounts = { for role in keys(var.roles) : role => module.service_accounts.emails[role] if !var.roles[role].singleton }

  # Redis over TLS, verified against the instance's own CA. Clients connect by IP, so the
  # certificate is pinned by that CA rather than matched against a host name.
  redis_url = "rediss://:${module.redis.auth_string}@${module.redis.host}:${module.redis.port}/0?ssl_cert_reqs=required&ssl_ca_certs=/tmp/secrets/redis-ca.pem&ssl_check_hostname=false"
}

module "service_accounts" {
  source     = "../service_accounts"
  project_id = var.project_id
  name       = local.name
  accounts   = local.accounts
}

module "network" {
  source                = "../network"
  project_id            = var.project_id
  name                  = local.name
  region                = var.region
  http_service_accounts = [for role in local.http_roles : module.service_accounts.emails[role]]
  all_service_accounts  = [for role in keys(var.roles) : module.service_accounts.emails[role]]
}

module "database" {
  source              = "../database"
  project_id          = var.project_id
  name                = local.name
  region              = var.region
  network_id          = module.network.private_services_network_id
  tier                = var.database_tier
  high_availability   = var.database_high_availability
  deletion_protection = var.deletion_protection
  password_version    = var.database_password_version
}

module "redis" {
  source         = "../redis"
  project_id     = var.project_id
  name           = local.name
  region         = var.region
  network_id     = module.network.private_services_network_id
  tier           = var.redis_tier
  memory_size_gb = var.redis_memory_size_gb
}

ephemeral "random_password" "secret_key" {
  length  = 64
  special = false
}

module "secrets" {
  source     = "../secrets"
  project_id = var.project_id
  name       = local.name
  secrets = {
    for name, secret in local.secret_catalogue : name => {
      description = secret.description
      source      = secret.source
      accessors   = { for role, names in local.role_secrets : role => module.service_accounts.emails[role] if contains(names, name) }
    }
  }
  write_only_values = {
    "secret-key"   = ephemeral.random_password.secret_key.result
    "database-url" = "postgres://${module.database.user_name}:${module.database.password}@${module.database.private_ip}:5432/${module.database.database_name}?sslmode=verify-ca&sslrootcert=/tmp/secrets/cloudsql-ca.pem"
  }
  write_only_versions = {
    "secret-key"   = var.secret_key_version
    "database-url" = module.database.password_version
  }
  terraform_values = {
    "redis-url"   = local.redis_url
    "cloudsql-ca" = module.database.server_ca_cert
    "redis-ca"    = module.redis.server_ca_cert
  }
}

module "registry" {
  source     = "../registry"
  project_id = var.project_id
  name       = "saas"
  location   = var.region
  readers    = local.runtime_accounts
  writers    = local.deployer
}

module "storage" {
  source        = "../storage"
  project_id    = var.project_id
  name          = local.name
  location      = var.region
  writers       = local.media_accounts
  force_destroy = var.bucket_force_destroy
}

module "roles" {
  source                = "../compute_role"
  for_each              = var.roles
  project_id            = var.project_id
  name                  = local.name
  role                  = each.key
  region                = var.region
  zones                 = var.zones
  subnet_id             = module.network.subnet_id
  service_account_email = module.service_accounts.emails[each.key]
  image                 = local.image
  machine_type          = each.value.machine_type
  min_replicas          = each.value.min_replicas
  max_replicas          = each.value.max_replicas
  cpu_target            = each.value.cpu_target
  http                  = each.value.http
  singleton             = each.value.singleton
  stop_timeout_seconds  = each.value.stop_timeout_seconds
  env                   = merge(local.common_env, each.value.env, local.secret_references[each.key])
  labels                = merge(var.labels, { environment = var.environment })
}

module "release_job" {
  source                = "../release_job"
  project_id            = var.project_id
  name                  = local.name
  region                = var.region
  image                 = local.image
  service_account_email = module.service_accounts.emails["release"]
  network_id            = module.network.network_id
  subnet_id             = module.network.subnet_id
  env                   = merge(local.common_env, local.secret_references["release"])
  deployers             = local.deployer
  deletion_protection   = var.deletion_protection
}

module "load_balancer" {
  source     = "../load_balancer"
  project_id = var.project_id
  name       = local.name
  domain     = var.domain
  backends = {
    pages   = { instance_group = module.roles[var.pages_role].instance_group, timeout_sec = 30, draining_timeout_sec = 30 }
    sockets = { instance_group = module.roles[var.sockets_role].instance_group, timeout_sec = var.websocket_timeout_sec, draining_timeout_sec = 60 }
  }
  default_backend = "pages"
  path_rules      = { sockets = ["/ws/*"] }
}

module "dns" {
  source                   = "../dns"
  project_id               = var.project_id
  name                     = local.name
  domain                   = var.domain
  ip_address               = module.load_balancer.ip_address
  dns_authorization_record = module.load_balancer.dns_authorization_record
}

module "github_oidc" {
  source                      = "../github_oidc"
  project_id                  = var.project_id
  name                        = local.name
  github_repository_id        = var.github_repository_id
  github_owner_id             = var.github_owner_id
  github_environment          = var.environment
  deployer_service_account_id = module.service_accounts.ids["deployer"]
}

# --- The deployer: exactly what a rollout needs ------------------------------------------------
# No predefined role is narrow enough (compute.instanceAdmin.v1 may also create and delete any
# instance), so rolling the groups is a custom role.
resource "google_project_iam_custom_role" "deployer" {
  project     = var.project_id
  role_id     = "saas_${var.environment}_deployer"
  title       = "saas ${var.environment} deployer"
  description = "Roll managed instance groups and read their state"
  permissions = [
    "compute.instanceGroupManagers.get",
    "compute.instanceGroupManagers.list",
    "compute.instanceGroupManagers.update",
    "compute.instanceGroupManagers.use",
    "compute.instanceGroups.get",
    "compute.instanceGroups.list",
    "compute.instanceTemplates.get",
    "compute.instanceTemplates.useReadOnly",
    "compute.instances.get",
    "compute.instances.list",
    "compute.regionOperations.get",
    "compute.zoneOperations.get",
    "compute.regions.get",
    "compute.zones.get",
    "compute.zones.list",
  ]
}

resource "google_project_iam_member" "deployer" {
  project = var.project_id
  role    = google_project_iam_custom_role.deployer.id
  member  = "serviceAccount:${module.service_accounts.emails["deployer"]}"
}

# Replacing instances and updating the release job act as the runtime accounts: allowed on
# those accounts alone, never project-wide.
resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each           = toset([for key in keys(local.accounts) : key if key != "deployer"])
  service_account_id = module.service_accounts.ids[each.key]
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${module.service_accounts.emails["deployer"]}"
}

# Signed file URLs: instance credentials hold no private key, so django-storages signs through
# the IAM signBlob API (GS_IAM_SIGN_BLOB) as the instance's own account. Token Creator on that
# account alone: project-wide it would let one role sign, and mint tokens, as every other.
resource "google_service_account_iam_member" "media_signs_as_itself" {
  for_each           = local.media_accounts
  service_account_id = module.service_accounts.ids[each.key]
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${each.value}"
}
