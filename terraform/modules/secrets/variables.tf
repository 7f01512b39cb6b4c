variable "project_id" {
  description = "Google Cloud project that holds the environment."
  type        = string
}

variable "name" {
  description = "Prefix of every secret's id (for example `saas-staging`)."
  type        = string
}

variable "secrets" {
  description = <<-EOT
    Secrets by short name (`secret-key`, `database-url`, ...). `source` says who writes the value:
    `write_only` (an ephemeral value from this apply, never in state), `terraform` (a value already
    in state elsewhere, such as a CA certificate) or `operator` (added by hand with
    `gcloud secrets versions add`; Terraform creates the empty secret). `accessors` are the
    service accounts that may read it (key -> email:
    keys are known at plan time, emails of new accounts are not).
  EOT
  type = map(object({
    description = string
    source      = string
    accessors   = map(string)
  }))
  validation {
    condition     = alltrue([for secret in values(var.secrets) : contains(["write_only", "terraform", "operator"], secret.source)])
    error_message = "each secret's source must be write_only, terraform or operator."
  }
  validation {
    condition     = alltrue([for name in keys(var.secrets) : can(regex("^[a-z][a-z0-9-]{1,40}$", name))])
    error_message = "secret names must be lowercase letters, digits and hyphens."
  }
}

variable "write_only_values" {
  description = "Values of the `write_only` secrets, by name, for this apply only."
  type        = map(string)
  ephemeral   = true
  default     = {}
}

variable "write_only_versions" {
  description = "Version number of each `write_only` value: the value is written when its number changes (rotation)."
  type        = map(number)
  default     = {}
}

variable "terraform_values" {
  description = "Values of the `terraform` secrets, by name."
  type        = map(string)
  sensitive   = true
  default     = {}
}

variable "replica_locations" {
  description = "Regions the secrets are replicated to (data residency); empty lets Google choose."
  type        = list(string)
  default     = []
}
