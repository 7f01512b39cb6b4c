# Production: regional database with a standby, Redis with a replica, at least two instances
# of every scalable role across zones.

module "stack" {
  source               = "../../modules/stack"
  project_id           = var.project_id
  environment          = "production"
  region               = var.region
  zones                = var.zones
  domain               = var.domain
  github_repository_id = var.github_repository_id
  github_owner_id      = var.github_owner_id

  roles = {
    web = {
      machine_type  = "e2-standard-2"
      min_replicas  = 2
      max_replicas  = 8
      http          = true
      extra_secrets = ["email-url", "stripe-secret-key", "stripe-webhook-secret", "stripe-publishable-key"]
      env           = { WEB_CONCURRENCY = "4" }
    }
    ws = {
      machine_type  = "e2-standard-2"
      min_replicas  = 2
      max_replicas  = 6
      http          = true
      extra_secrets = ["email-url"]
      env           = { WEB_CONCURRENCY = "2" }
    }
    worker = {
      machine_type         = "e2-standard-2"
      min_replicas         = 2
      max_replicas         = 6
      stop_timeout_seconds = 300
      extra_secrets        = ["email-url", "stripe-secret-key", "stripe-webhook-secret"]
      env                  = { WORKER_CONCURRENCY = "4" }
    }
    beat = {
      machine_type = "e2-small"
      singleton    = true
    }
  }
  # Pages on gunicorn (`web`), WebSockets on uvicorn (`ws`): the Procfile's two roles, chosen
  # by measurement (README, "Web tier"); the load balancer routes /ws/ to the sockets role.
  pages_role   = "web"
  sockets_role = "ws"

  database_tier              = "db-custom-2-7680"
  database_high_availability = true
  database_password_version  = var.database_password_version
  secret_key_version         = var.secret_key_version
  redis_tier                 = "STANDARD_HA"
  redis_memory_size_gb       = 2
  deletion_protection        = var.deletion_protection
  bucket_force_destroy       = false
}
