variable "project_id" {
  description = "Google Cloud project of this environment (one project per environment)."
  type        = string
}

variable "environment" {
  description = "Environment name: staging or production. It names resources, the image tag the instances pull and the GitHub environment allowed to deploy."
  type        = string
  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be staging or production."
  }
}

variable "region" {
  description = "Region of everything regional."
  type        = string
  default     = "us-central1"
}

variable "zones" {
  description = "Zones the instance groups spread over (the first also holds the singleton beat)."
  type        = list(string)
  default     = ["us-central1-a", "us-central1-b", "us-central1-c"]
  validation {
    condition     = length(var.zones) >= 1 && length(var.zones) <= 4
    error_message = "zones must list one to four zones."
  }
}

variable "domain" {
  description = "SAAS_BASE_DOMAIN: the public site is the apex, tenants are `<slug>.<domain>`."
  type        = string
}

variable "roles" {
  description = <<-EOT
    Procfile roles run on instance groups, by role name (each runs `docker run IMAGE <name>`).
    `http` roles sit behind the load balancer; `singleton` keeps exactly one instance (beat);
    `extra_secrets` adds secrets beyond the ones every role reads (email-url, the Stripe keys).
    A new role (a separate `ws` for sockets) is one more entry here and a line in the Procfile.
  EOT
  type = map(object({
    machine_type         = optional(string, "e2-small")
    min_replicas         = optional(number, 1)
    max_replicas         = optional(number, 1)
    cpu_target           = optional(number, 0.6)
    http                 = optional(bool, false)
    singleton            = optional(bool, false)
    stop_timeout_seconds = optional(number, 30)
    extra_secrets        = optional(list(string), [])
    env                  = optional(map(string), {})
  }))
  validation {
    condition     = alltrue([for role in values(var.roles) : !role.singleton || (role.min_replicas == 1 && role.max_replicas == 1)])
    error_message = "a singleton role has exactly one instance (min_replicas = max_replicas = 1)."
  }
  validation {
    condition     = alltrue([for role in values(var.roles) : role.max_replicas >= role.min_replicas])
    error_message = "max_replicas must be at least min_replicas."
  }
  validation {
    condition     = !contains(keys(var.roles), "release")
    error_message = "release is not an instance group: it runs as the Cloud Run job before each rollout."
  }
}

variable "pages_role" {
  description = "Role whose group serves pages (every path but the socket paths)."
  type        = string
  default     = "web"
  validation {
    condition     = contains(keys(var.roles), var.pages_role) && var.roles[var.pages_role].http
    error_message = "pages_role must be an http role in roles."
  }
}

variable "sockets_role" {
  description = "Role whose group serves /ws/ (the same as pages_role while one ASGI server serves both)."
  type        = string
  default     = "web"
  validation {
    condition     = contains(keys(var.roles), var.sockets_role) && var.roles[var.sockets_role].http
    error_message = "sockets_role must be an http role in roles."
  }
}

variable "websocket_timeout_sec" {
  description = "Longest a WebSocket may live at the load balancer (the sockets backend's timeout_sec); the client reconnects and gets a fresh snapshot after it."
  type        = number
  default     = 28800
  validation {
    condition     = var.websocket_timeout_sec >= 300 && var.websocket_timeout_sec <= 86400
    error_message = "websocket_timeout_sec must be between 300 (5 min) and 86400 (24 h)."
  }
}

variable "database_tier" {
  description = "Cloud SQL machine tier."
  type        = string
}

variable "database_high_availability" {
  description = "Regional Cloud SQL with automatic failover (production)."
  type        = bool
}

variable "database_password_version" {
  description = "Bump to rotate the database password (and rewrite the database-url secret)."
  type        = number
  default     = 1
}

variable "secret_key_version" {
  description = "Bump to rotate Django's SECRET_KEY (signs sessions: everyone is logged out)."
  type        = number
  default     = 1
}

variable "redis_tier" {
  description = "Memorystore tier: BASIC or STANDARD_HA."
  type        = string
}

variable "redis_memory_size_gb" {
  description = "Memorystore memory."
  type        = number
  default     = 1
}

variable "deletion_protection" {
  description = "Protect the database and the release job from deletion; set false and apply before a deliberate destroy."
  type        = bool
  default     = true
}

variable "bucket_force_destroy" {
  description = "Let destroy delete the media bucket with its objects (staging rebuilds)."
  type        = bool
  default     = false
}

variable "github_repository_id" {
  description = "Numeric id of the GitHub repository allowed to deploy."
  type        = string
}

variable "github_owner_id" {
  description = "Numeric id of that repository's owner."
  type        = string
}

variable "image_tag" {
  description = "Tag the instances pull; the deploy moves it to each release (defaults to the environment name)."
  type        = string
  default     = null
}

variable "labels" {
  description = "Labels on the instances."
  type        = map(string)
  default     = {}
}
