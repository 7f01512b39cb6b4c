variable "project_id" {
  description = "Google Cloud project that holds the environment."
  type        = string
}

variable "name" {
  description = "Prefix of the pool id."
  type        = string
}

variable "github_repository_id" {
  description = "Numeric id of the GitHub repository (`gh api repos/OWNER/NAME --jq .id`): unlike its name, it cannot be taken over by a renamed or recreated repository."
  type        = string
  validation {
    condition     = can(regex("^[0-9]+$", var.github_repository_id))
    error_message = "github_repository_id must be the numeric repository id, not owner/name."
  }
}

variable "github_owner_id" {
  description = "Numeric id of the repository's owner (`gh api repos/OWNER/NAME --jq .owner.id`)."
  type        = string
  validation {
    condition     = can(regex("^[0-9]+$", var.github_owner_id))
    error_message = "github_owner_id must be numeric."
  }
}

variable "github_environment" {
  description = "GitHub Actions environment whose jobs may deploy here (its protection rules then gate every deploy)."
  type        = string
}

variable "allowed_ref" {
  description = "Git ref the deploying workflow must run on."
  type        = string
  default     = "refs/heads/main"
}

variable "deployer_service_account_id" {
  description = "Resource id (projects/.../serviceAccounts/...) of the deployer service account GitHub may impersonate."
  type        = string
}
