output "host" {
  description = "Private IP of the instance."
  value       = google_redis_instance.main.host
}

output "port" {
  description = "TLS port (6378 with in-transit encryption)."
  value       = google_redis_instance.main.port
}

output "auth_string" {
  description = "The AUTH password Google generated (it is in state: the state bucket is access-controlled for that reason)."
  value       = google_redis_instance.main.auth_string
  sensitive   = true
}

output "server_ca_cert" {
  description = "PEM of the CA that signs the instance's TLS certificate."
  value       = google_redis_instance.main.server_ca_certs[0].cert
}
