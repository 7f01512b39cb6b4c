output "latest" {
  description = "Each secret's `versions/latest` resource name, as docker/entrypoint.py reads it."
  value       = { for name, secret in google_secret_manager_secret.main : name => "${secret.id}/versions/latest" }
}

output "secret_ids" {
  description = "Each secret's id, for `gcloud secrets versions add <id> --data-file=-`."
  value       = { for name, secret in google_secret_manager_secret.main : name => secret.secret_id }
}
