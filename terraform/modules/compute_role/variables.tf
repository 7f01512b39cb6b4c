variable "project_id" {
  description = "Google Cloud project that holds the environment."
  type        = string
}

variable "name" {
  description = "Prefix of the resource names (for example `saas-staging`); the role follows."
  type        = string
}

variable "role" {
  description = "The Procfile role the instances run (`docker run IMAGE <role>`): web, worker, beat, or one added later (ws)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{0,11}$", var.role))
    error_message = "role must be a Procfile role name: lowercase letters and digits, at most 12."
  }
}

variable "region" {
  description = "Region of the instance group."
  type        = string
}

variable "zones" {
  description = "Zones the instances spread over; a singleton role uses the first only."
  type        = list(string)
  validation {
    condition     = length(var.zones) >= 1
    error_message = "zones must list at least one zone."
  }
}

variable "subnet_id" {
  description = "Subnet of the instances (no external address: egress through Cloud NAT)."
  type        = string
}

variable "service_account_email" {
  description = "The role's own service account."
  type        = string
}

variable "image" {
  description = "Container image reference the instances pull at boot, normally the environment's moving tag (`.../app:staging`) that the deploy moves."
  type        = string
}

variable "machine_type" {
  description = "Compute Engine machine type."
  type        = string
  default     = "e2-small"
}

variable "min_replicas" {
  description = "Fewest instances (the autoscaler's floor)."
  type        = number
  default     = 1
  validation {
    condition     = var.min_replicas >= 1
    error_message = "min_replicas must be at least 1."
  }
}

variable "max_replicas" {
  description = "Most instances (the autoscaler's ceiling)."
  type        = number
  default     = 1
}

variable "cpu_target" {
  description = "Average CPU utilisation the autoscaler keeps the group at."
  type        = number
  default     = 0.6
  validation {
    condition     = var.cpu_target > 0.1 && var.cpu_target < 0.95
    error_message = "cpu_target must be between 0.1 and 0.95."
  }
}

variable "singleton" {
  description = "Exactly one instance at any time, also during updates (Celery beat: two would schedule every task twice)."
  type        = bool
  default     = false
}

variable "http" {
  description = "The role serves HTTP behind the load balancer: publish the container port on http_port and heal instances that fail /healthz."
  type        = bool
  default     = false
}

variable "http_port" {
  description = "Host port HTTP is published on (the only one the firewall opens to the load balancer)."
  type        = number
  default     = 80
}

variable "container_port" {
  description = "Port the role listens on inside the container (the image's PORT)."
  type        = number
  default     = 8000
}

variable "env" {
  description = "Plain (non-secret) environment of the container, including the SECRET_ENV / SECRET_ENV_OPTIONAL / SECRET_FILES references the entry point resolves."
  type        = map(string)
  validation {
    condition     = alltrue([for key in keys(var.env) : !can(regex("(PASSWORD|SECRET_KEY|TOKEN|DSN|DATABASE_URL|REDIS_URL)$", key))])
    error_message = "secrets go to Secret Manager and are referenced through SECRET_ENV, never set in env."
  }
}

variable "stop_timeout_seconds" {
  description = "Seconds the container gets between SIGTERM and SIGKILL (a Celery worker finishes its current tasks)."
  type        = number
  default     = 30
}

variable "labels" {
  description = "Labels on the instances."
  type        = map(string)
  default     = {}
}
