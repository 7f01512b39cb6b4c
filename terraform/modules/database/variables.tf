variable "project_id" {
  description = "Google Cloud project that holds the environment."
  type        = string
}

variable "name" {
  description = "Prefix of the instance name; a random suffix follows (a deleted instance's name stays taken for about a week)."
  type        = string
}

variable "region" {
  description = "Region of the instance."
  type        = string
}

variable "network_id" {
  description = "VPC id from the network module's private_services_network_id (which orders this after private service access)."
  type        = string
}


variable "database_version" {
  description = "Cloud SQL engine version."
  type        = string
  default     = "POSTGRES_16"
  validation {
    condition     = can(regex("^POSTGRES_1[5-9]$", var.database_version))
    error_message = "database_version must be POSTGRES_15 or newer."
  }
}

variable "tier" {
  description = "Machine tier: db-f1-micro / db-g1-small (shared core, staging) or db-custom-<vCPUs>-<MiB>."
  type        = string
  validation {
    condition     = can(regex("^db-(f1-micro|g1-small|custom-[0-9]+-[0-9]+)$", var.tier))
    error_message = "tier must be db-f1-micro, db-g1-small or db-custom-<vCPUs>-<MiB>."
  }
}

variable "high_availability" {
  description = "Regional (a standby in a second zone, automatic failover) instead of zonal."
  type        = bool
}

variable "disk_size_gb" {
  description = "Initial SSD size; it grows automatically."
  type        = number
  default     = 10
  validation {
    condition     = var.disk_size_gb >= 10
    error_message = "disk_size_gb must be at least 10."
  }
}

variable "backup_retention_count" {
  description = "Daily backups kept."
  type        = number
  default     = 14
  validation {
    condition     = var.backup_retention_count >= 7 && var.backup_retention_count <= 365
    error_message = "backup_retention_count must be between 7 and 365."
  }
}

variable "log_retention_days" {
  description = "Days of write-ahead log kept for point-in-time recovery."
  type        = number
  default     = 7
  validation {
    condition     = var.log_retention_days >= 1 && var.log_retention_days <= 7
    error_message = "log_retention_days must be between 1 and 7."
  }
}

variable "max_locks_per_transaction" {
  description = "PostgreSQL max_locks_per_transaction: migrate_schemas and tenant provisioning lock every table of many schemas in one transaction (the default 64 runs out at a few hundred tenants)."
  type        = number
  default     = 1024
  validation {
    condition     = var.max_locks_per_transaction >= 64
    error_message = "max_locks_per_transaction must be at least 64."
  }
}

variable "autovacuum_max_workers" {
  description = "PostgreSQL autovacuum_max_workers: schema-per-tenant means thousands of small tables to visit (default 3)."
  type        = number
  default     = 6
  validation {
    condition     = var.autovacuum_max_workers >= 3
    error_message = "autovacuum_max_workers must be at least 3."
  }
}

variable "autovacuum_naptime_seconds" {
  description = "PostgreSQL autovacuum_naptime in seconds: how long the launcher waits between rounds over the database."
  type        = number
  default     = 30
}

variable "autovacuum_vacuum_cost_limit" {
  description = "PostgreSQL autovacuum_vacuum_cost_limit, shared by all workers (default 200 via vacuum_cost_limit): raised with the workers so each is not slowed down."
  type        = number
  default     = 2000
}

variable "deletion_protection" {
  description = "Refuse to delete the instance (both Terraform's guard and the API's). Set false, apply, then destroy."
  type        = bool
  default     = true
}

variable "password_version" {
  description = "Bump to rotate the application user's password (written only, never stored in state); the DATABASE_URL secret is rewritten in the same apply."
  type        = number
  default     = 1
}

variable "database_name" {
  description = "The application's database."
  type        = string
  default     = "saas"
}

variable "user_name" {
  description = "The application's database user."
  type        = string
  default     = "saas"
}
