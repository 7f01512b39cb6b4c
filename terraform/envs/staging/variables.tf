variable "project_id" {
  description = "Google Cloud project of this environment."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id."
  }
}

variable "region" {
  description = "Region of everything regional."
  type        = string
  default     = "us-central1"
}

variable "zones" {
  description = "Zones of the instance groups."
  type        = list(string)
  default     = ["us-central1-a", "us-central1-b", "us-central1-c"]
}

variable "domain" {
  description = "SAAS_BASE_DOMAIN of this environment."
  type        = string
}

variable "github_repository_id" {
  description = "Numeric id of the GitHub repository that deploys (`gh api repos/OWNER/NAME --jq .id`)."
  type        = string
}

variable "github_owner_id" {
  description = "Numeric id of its owner (`gh api repos/OWNER/NAME --jq .owner.id`)."
  type        = string
}

variable "deletion_protection" {
  description = "Protect the database and the release job; set false and apply before a deliberate destroy."
  type        = bool
  default     = true
}

variable "database_password_version" {
  description = "Bump to rotate the database password."
  type        = number
  default     = 1
}

variable "secret_key_version" {
  description = "Bump to rotate Django's SECRET_KEY."
  type        = number
  default     = 1
}
