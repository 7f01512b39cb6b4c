output "ip_address" {
  description = "The load balancer's one public address (A records for the domain and its wildcard)."
  value       = google_compute_global_address.main.address
}

output "dns_authorization_record" {
  description = "The CNAME Certificate Manager needs to see before it issues the wildcard certificate."
  value = {
    name = google_certificate_manager_dns_authorization.main.dns_resource_record[0].name
    type = google_certificate_manager_dns_authorization.main.dns_resource_record[0].type
    data = google_certificate_manager_dns_authorization.main.dns_resource_record[0].data
  }
}

output "backend_services" {
  description = "Backend service names, by backend."
  value       = { for name, backend in google_compute_backend_service.main : name => backend.name }
}
