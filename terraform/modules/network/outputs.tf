output "network_id" {
  description = "ID of the VPC."
  value       = google_compute_network.main.id
}

output "network_name" {
  description = "Name of the VPC."
  value       = google_compute_network.main.name
}

output "subnet_id" {
  description = "ID of the instances' subnet."
  value       = google_compute_subnetwork.main.id
}

output "private_services_network_id" {
  description = "The VPC's id, read from the private service access connection: Cloud SQL and Memorystore take it, so they are created after the connection (and destroyed before it)."
  value       = google_service_networking_connection.private_services.network
}
