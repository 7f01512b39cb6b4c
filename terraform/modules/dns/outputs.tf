output "name_servers" {
  description = "Delegate the domain to these at the registrar (NS records), and add the DS record for DNSSEC."
  value       = google_dns_managed_zone.main.name_servers
}

output "zone_name" {
  description = "Name of the managed zone."
  value       = google_dns_managed_zone.main.name
}
