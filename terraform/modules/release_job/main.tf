# The Procfile's `release` role as a Cloud Run job: one task, no retries (a failed migration is
# looked at, not repeated blindly), on the private network next to Cloud SQL.

resource "google_cloud_run_v2_job" "release" {
  project             = var.project_id
  name                = "${var.name}-release"
  location            = var.region
  deletion_protection = var.deletion_protection

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account = var.service_account_email
      max_retries     = 0
      timeout         = "${var.timeout_seconds}s"

      containers {
        image = var.image
        args  = ["release"]

        dynamic "env" {
          for_each = var.env
          content {
            name  = env.key
            value = env.value
          }
        }

        resources {
          limits = {
            cpu    = "1"
            memory = "1Gi"
          }
        }
      }

      vpc_access {
        egress = "PRIVATE_RANGES_ONLY"
        network_interfaces {
          network    = var.network_id
          subnetwork = var.subnet_id
        }
      }
    }
  }

  lifecycle {
    # The deploy points the job at each release's digest before running it.
    ignore_changes = [template[0].template[0].containers[0].image, client, client_version]
  }
}

resource "google_cloud_run_v2_job_iam_member" "deployers" {
  for_each = var.deployers
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.release.name
  role     = "roles/run.developer"
  member   = "serviceAccount:${each.value}"
}
