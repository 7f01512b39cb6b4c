# Memorystore for Redis: Celery's broker, Django's cache, the channel layer. AUTH and in-transit
# encryption are set at creation: switching either on later replaces the instance (and drops
# whatever is queued in it).

resource "google_redis_instance" "main" {
  project        = var.project_id
  name           = "${var.name}-redis"
  region         = var.region
  tier           = var.tier
  memory_size_gb = var.memory_size_gb
  redis_version  = var.redis_version

  authorized_network      = var.network_id
  connect_mode            = "PRIVATE_SERVICE_ACCESS"
  auth_enabled            = true
  transit_encryption_mode = "SERVER_AUTHENTICATION"

  # Celery's broker keeps unacknowledged tasks as keys: never evict them to make room.
  redis_configs = {
    maxmemory-policy = "noeviction"
  }

  maintenance_policy {
    weekly_maintenance_window {
      day = "SUNDAY"
      start_time {
        hours   = 3
        minutes = 0
      }
    }
  }
}
