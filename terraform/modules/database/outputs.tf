output "instance_name" {
  description = "Cloud SQL instance name (with its random suffix)."
  value       = google_sql_database_instance.main.name
}

output "connection_name" {
  description = "project:region:instance, for the Cloud SQL Auth Proxy when an operator needs psql."
  value       = google_sql_database_instance.main.connection_name
}

output "private_ip" {
  description = "The instance's only address."
  value       = google_sql_database_instance.main.private_ip_address
}

output "server_ca_cert" {
  description = "PEM of the instance's server CA: clients verify the server with it (sslmode=verify-ca)."
  value       = google_sql_database_instance.main.server_ca_cert[0].cert
}

output "database_name" {
  description = "The application's database."
  value       = google_sql_database.main.name
}

output "user_name" {
  description = "The application's database user."
  value       = google_sql_user.main.name
}

output "password" {
  description = "The user's password for this apply only (ephemeral): feed it to write-only arguments."
  value       = ephemeral.random_password.user.result
  ephemeral   = true
}

output "password_version" {
  description = "Version of the written password: secrets that embed it are rewritten when it changes."
  value       = var.password_version
}
