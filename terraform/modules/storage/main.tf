# The bucket for media and generated reports: private (uniform access, public access prevented),
# versioned so an overwrite or delete can be undone for noncurrent_retention_days.

data "google_project" "current" {
  project_id = var.project_id
}

resource "google_storage_bucket" "media" {
  #checkov:skip=CKV_GCP_62:object access is recorded by Cloud Audit Logs (data access logs), not by a second logging bucket
  project                     = var.project_id
  name                        = "${var.name}-media-${data.google_project.current.number}"
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_retention_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  soft_delete_policy {
    retention_duration_seconds = 604800
  }
}

resource "google_storage_bucket_iam_member" "writers" {
  for_each = var.writers
  bucket   = google_storage_bucket.media.name
  role     = "roles/storage.objectUser"
  member   = "serviceAccount:${each.value}"
}
