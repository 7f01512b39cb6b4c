terraform {
  required_version = "~> 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.0"
    }
  }
  # Local state on the first apply; then `terraform init -migrate-state` with the backend
  # block below uncommented moves it into the bucket it just made (terraform/README.md).
  # backend "gcs" {
  #   prefix = "saas/bootstrap"
  # }
}

provider "google" {
  project = var.project_id
}
