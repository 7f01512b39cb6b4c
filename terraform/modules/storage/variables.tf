variable "project_id" {
  description = "Google Cloud project that holds the environment."
  type        = string
}

variable "name" {
  description = "Prefix of the bucket name (bucket names are global: the project id is appended)."
  type        = string
}

variable "location" {
  description = "Bucket location (a region keeps it next to the instances)."
  type        = string
}

variable "writers" {
  description = "Service accounts that read and write objects (web and worker), key -> email."
  type        = map(string)
}

variable "noncurrent_retention_days" {
  description = "Days an overwritten or deleted object's previous version is kept."
  type        = number
  default     = 30
  validation {
    condition     = var.noncurrent_retention_days >= 1
    error_message = "noncurrent_retention_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still has objects (staging rebuilds only)."
  type        = bool
  default     = false
}
