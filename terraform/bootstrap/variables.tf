variable "project_id" {
  description = "The environment's project (run the bootstrap once per environment project)."
  type        = string
}

variable "location" {
  description = "Location of the state bucket."
  type        = string
  default     = "US"
}

variable "state_admins" {
  description = "Principals (`user:...`, `group:...`) who run terraform plan/apply for this environment and so may read and write its state."
  type        = list(string)
  validation {
    condition     = alltrue([for member in var.state_admins : can(regex("^(user|group|serviceAccount):", member))])
    error_message = "state_admins must be IAM members such as group:platform@example.com."
  }
}
