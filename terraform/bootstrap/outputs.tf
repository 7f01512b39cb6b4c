output "state_bucket" {
  description = "Pass to `terraform init -backend-config=bucket=<this>` in the environment root."
  value       = google_storage_bucket.state.name
}
