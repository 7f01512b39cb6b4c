output "provider_name" {
  description = "Full provider name: the GitHub environment variable GCP_WORKLOAD_IDENTITY_PROVIDER."
  value       = google_iam_workload_identity_pool_provider.github.name
}
