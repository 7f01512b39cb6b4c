# Staging: the smallest setup that still has every production part (zonal database, basic
# Redis, one instance per role). See terraform/README.md for its monthly cost.

module "stack" {
  source               = "../../modules/stack"
  project_id           = var.project_id
  environment          = "staging"
  region               = var.region
  zones                = var.zones
  domain               = var.domain
  github_repository_id = var.github_repository_id
  github_owner_id      = var.github_owner_id

  roles = {
    web = {
      machine_type  = "e2-small"
      min_replicas  = 1
      max_replicas  = 2
      http          = true
      extra_secrets = ["email-url", "stripe-secret-key", "stripe-webhook-secret", "stripe-publishable-key"]
      env           = { WEB_CONCURRENCY = "2" }
    }
    ws = {
      machine_type  = "e2-small"
      min_replicas  = 1
      max_replicas  = 2
      http          = true
      extra_secrets = ["email-url"]
      env           = { WEB_CONCURRENCY = "1" }
    }
    worker = {
      machine_type         = "e2-small"
      min_replicas         = 1
      max_replicas         = 2
      stop_timeout_seconds = 120
      extra_secrets        = ["email-url", "stripe-secret-key", "stripe-webhook-secret"]
      env                  = { WORKER_CONCURRENCY = "2" }
    }
    beat = {
      machine_type = "e2-micro"
      singleton    = true
    }
  }
  # Pages on gunicorn (`web`), WebSockets on uvicorn (`ws`): the Procfile's two roles, chosen
  # by measurement (README, "Web tier"); the load balancer routes /ws/ to the sockets role.
  pages_role   = "web"
  sockets_role = "ws"

  database_tier              = "db-f1-micro"
  database_high_availability = false
  database_password_version  = var.database_password_version
  secret_key_version         = var.secret_key_version
  redis_tier                 = "BASIC"
  redis_memory_size_gb       = 1
  deletion_protection        = var.deletion_protection
  bucket_force_destroy       = true
}
