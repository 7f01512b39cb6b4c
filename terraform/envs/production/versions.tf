terraform {
  # Write-only arguments and ephemeral resources (secrets kept out of state) need 1.11.
  required_version = "~> 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }

  # Partial configuration: `terraform init -backend-config=bucket=<state bucket>` (see
  # terraform/README.md, Bootstrap). One prefix per environment.
  backend "gcs" {
    prefix = "saas/production"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
  default_labels = {
    app         = "saas"
    environment = "production"
    managed-by  = "terraform"
  }
}
