variable "project_id" {
  description = "Google Cloud project that holds the environment."
  type        = string
}

variable "name" {
  description = "Repository id."
  type        = string
}

variable "location" {
  description = "Region of the repository (the same as the instances: pulls stay regional)."
  type        = string
}

variable "readers" {
  description = "Service accounts that pull the image (every runtime role), key -> email."
  type        = map(string)
}

variable "writers" {
  description = "Service accounts that push images and move tags (the deployer), key -> email."
  type        = map(string)
}

variable "keep_recent" {
  description = "Most recent image versions kept by the cleanup policy (rollback targets)."
  type        = number
  default     = 20
  validation {
    condition     = var.keep_recent >= 5
    error_message = "keep_recent must be at least 5."
  }
}
