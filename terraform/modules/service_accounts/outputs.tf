output "emails" {
  description = "Email of each service account, by key."
  value       = { for key, account in google_service_account.main : key => account.email }
}

output "ids" {
  description = "Resource id of each service account (for resource-level IAM such as actAs), by key."
  value       = { for key, account in google_service_account.main : key => account.name }
}
