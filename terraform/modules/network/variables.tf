variable "project_id" {
  description = "Google Cloud project that holds the environment."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name (for example `saas-staging`)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,28}[a-z0-9]$", var.name))
    error_message = "name must be 4-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region of the subnet, the router and Cloud NAT."
  type        = string
}

variable "subnet_cidr" {
  description = "Primary range of the one subnet the instances live in."
  type        = string
  default     = "10.10.0.0/20"
  validation {
    condition     = can(cidrnetmask(var.subnet_cidr))
    error_message = "subnet_cidr must be an IPv4 CIDR block."
  }
}

variable "private_services_prefix_length" {
  description = "Size of the range reserved for private service access (Cloud SQL and Memorystore take addresses from it)."
  type        = number
  default     = 20
  validation {
    condition     = var.private_services_prefix_length >= 16 && var.private_services_prefix_length <= 24
    error_message = "private_services_prefix_length must be between 16 and 24."
  }
}

variable "http_port" {
  description = "Port the instances serve HTTP on (the container's port is published there); the only port the load balancer reaches."
  type        = number
  default     = 80
  validation {
    condition     = contains([80, 443], var.http_port)
    error_message = "http_port must be 80 or 443: the firewall opens nothing else to the load balancer."
  }
}

variable "http_service_accounts" {
  description = "Service accounts of the instances that serve HTTP behind the load balancer (firewall targets)."
  type        = list(string)
}

variable "all_service_accounts" {
  description = "Service accounts of every instance (IAP SSH targets)."
  type        = list(string)
}
