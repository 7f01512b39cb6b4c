variable "project_id" {
  description = "Google Cloud project that holds the environment."
  type        = string
}

variable "name" {
  description = "Prefix of the resource names."
  type        = string
}

variable "domain" {
  description = "The base domain (SAAS_BASE_DOMAIN): the certificate covers it and `*.<domain>` (tenant subdomains)."
  type        = string
  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain))
    error_message = "domain must be a lowercase DNS name such as example.com."
  }
}

variable "backends" {
  description = <<-EOT
    Backend services by name, each an instance group with its own request timeout. The same
    group may sit behind several: `pages` (30 s) and `sockets` (a WebSocket lives at most
    timeout_sec, so it must outlive a dashboard session) can both point at the one web group,
    and at separate groups once sockets get their own role.
  EOT
  type = map(object({
    instance_group       = string
    timeout_sec          = number
    draining_timeout_sec = optional(number, 30)
  }))
  validation {
    condition     = alltrue([for backend in values(var.backends) : backend.timeout_sec >= 5 && backend.timeout_sec <= 86400])
    error_message = "timeout_sec must be between 5 and 86400 seconds."
  }
}

variable "default_backend" {
  description = "Backend for every path no path rule names."
  type        = string
  default     = "pages"
}

variable "path_rules" {
  description = "Backend name -> URL paths it serves instead of the default (`/ws/*` to sockets)."
  type        = map(list(string))
  default     = { sockets = ["/ws/*"] }
}

variable "health_check_port" {
  description = "Port the instances answer /readyz on (the published HTTP port)."
  type        = number
  default     = 80
}

variable "security_policy" {
  description = "Cloud Armor policy attached to every backend (null: none)."
  type        = string
  default     = null
}

variable "log_sample_rate" {
  description = "Share of requests the load balancer logs."
  type        = number
  default     = 1.0
  validation {
    condition     = var.log_sample_rate >= 0 && var.log_sample_rate <= 1
    error_message = "log_sample_rate must be between 0 and 1."
  }
}
