variable "project_id" {
  description = "Google Cloud project that holds the environment."
  type        = string
}

variable "name" {
  description = "Prefix of the instance name."
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


variable "tier" {
  description = "BASIC (one node, staging) or STANDARD_HA (a replica with automatic failover, production)."
  type        = string
  validation {
    condition     = contains(["BASIC", "STANDARD_HA"], var.tier)
    error_message = "tier must be BASIC or STANDARD_HA."
  }
}

variable "memory_size_gb" {
  description = "Memory of the instance (the broker's queues, the cache, the channel layer)."
  type        = number
  default     = 1
  validation {
    condition     = var.memory_size_gb >= 1 && var.memory_size_gb <= 300
    error_message = "memory_size_gb must be between 1 and 300."
  }
}

variable "redis_version" {
  description = "Memorystore Redis version."
  type        = string
  default     = "REDIS_7_2"
  validation {
    condition     = can(regex("^REDIS_7_[0-9]$", var.redis_version))
    error_message = "redis_version must be REDIS_7_x."
  }
}
