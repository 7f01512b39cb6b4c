variable "project_id" {
  description = "Google Cloud project that holds the environment."
  type        = string
}

variable "name" {
  description = "Prefix of the account ids (`<name>-<key>`, at most 30 characters in all)."
  type        = string
}

variable "accounts" {
  description = "Service accounts by key, each with every project-level role it holds (resource-level grants live beside their resources)."
  type = map(object({
    description   = string
    project_roles = list(string)
  }))
  validation {
    condition = alltrue(flatten([
      for account in values(var.accounts) : [
        for role in account.project_roles : !contains([
          "roles/owner", "roles/editor", "roles/viewer",
          "roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator", "roles/iam.serviceAccountAdmin",
          "roles/resourcemanager.projectIamAdmin", "roles/secretmanager.secretAccessor", "roles/storage.admin",
        ], role)
      ]
    ]))
    error_message = "no basic role, and no project-wide impersonation, IAM admin, secret or storage admin role: grant those on the one resource."
  }
}
