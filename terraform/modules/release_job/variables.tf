variable "project_id" {
  description = "Google Cloud project that holds the environment."
  type        = string
}

variable "name" {
  description = "Prefix of the job name."
  type        = string
}

variable "region" {
  description = "Region of the job (the VPC's region: it reaches Cloud SQL through Direct VPC egress)."
  type        = string
}

variable "image" {
  description = "Image the job starts from at creation; each deploy sets the new release's digest (Terraform ignores later changes)."
  type        = string
}

variable "service_account_email" {
  description = "The release role's own service account."
  type        = string
}

variable "network_id" {
  description = "VPC the job's egress goes to."
  type        = string
}

variable "subnet_id" {
  description = "Subnet the job's Direct VPC egress uses."
  type        = string
}

variable "env" {
  description = "Plain environment, including SECRET_ENV / SECRET_FILES references."
  type        = map(string)
}

variable "timeout_seconds" {
  description = "Longest a release (migrate_schemas over every tenant schema) may run."
  type        = number
  default     = 3600
  validation {
    condition     = var.timeout_seconds >= 60 && var.timeout_seconds <= 86400
    error_message = "timeout_seconds must be between 60 and 86400."
  }
}

variable "deployers" {
  description = "Service accounts that may update and run the job (the CI deployer), key -> email."
  type        = map(string)
}

variable "deletion_protection" {
  description = "Refuse `terraform destroy` of the job."
  type        = bool
  default     = true
}
