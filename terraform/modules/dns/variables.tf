variable "project_id" {
  description = "Google Cloud project that holds the environment."
  type        = string
}

variable "name" {
  description = "Prefix of the zone name."
  type        = string
}

variable "domain" {
  description = "The base domain; the zone is authoritative for it (delegate to the zone's name servers at the registrar)."
  type        = string
}

variable "ip_address" {
  description = "The load balancer's address, for the apex and wildcard A records."
  type        = string
}

variable "dns_authorization_record" {
  description = "Certificate Manager's DNS authorization record (name, type, data)."
  type = object({
    name = string
    type = string
    data = string
  })
}

variable "ttl" {
  description = "TTL of the A records, in seconds."
  type        = number
  default     = 300
  validation {
    condition     = var.ttl >= 60 && var.ttl <= 86400
    error_message = "ttl must be between 60 and 86400."
  }
}
