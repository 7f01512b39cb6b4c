# Artifact Registry for the one image. Tags are mutable on purpose: each environment's tag
# (`staging`, `production`) names the release its instances pull, and the deploy moves it.

resource "google_artifact_registry_repository" "main" {
  #checkov:skip=CKV_GCP_84:the image holds no secrets (they come from Secret Manager at run time); Google-managed encryption at rest is enough and spares a KMS key per environment
  project       = var.project_id
  location      = var.location
  repository_id = var.name
  description   = "The app's container image"
  format        = "DOCKER"

  docker_config {
    immutable_tags = false
  }

  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.keep_recent
    }
  }
  cleanup_policies {
    id     = "delete-old-untagged"
    action = "DELETE"
    condition {
      tag_state  = "UNTAGGED"
      older_than = "2592000s"
    }
  }
}

resource "google_artifact_registry_repository_iam_member" "readers" {
  for_each   = var.readers
  project    = var.project_id
  location   = var.location
  repository = google_artifact_registry_repository.main.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${each.value}"
}

resource "google_artifact_registry_repository_iam_member" "writers" {
  for_each   = var.writers
  project    = var.project_id
  location   = var.location
  repository = google_artifact_registry_repository.main.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${each.value}"
}
