output "job_name" {
  description = "Name of the release job (`gcloud run jobs execute <name> --wait`)."
  value       = google_cloud_run_v2_job.release.name
}
