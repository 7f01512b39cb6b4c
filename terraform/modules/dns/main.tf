# A public Cloud DNS zone for the base domain, DNSSEC on: the apex (the public site) and a
# wildcard (every tenant subdomain) point at the load balancer, plus the record that lets
# Certificate Manager issue the wildcard certificate.

resource "google_dns_managed_zone" "main" {
  project     = var.project_id
  name        = "${var.name}-zone"
  dns_name    = "${var.domain}."
  description = "Public zone of ${var.domain}"
  visibility  = "public"

  dnssec_config {
    state = "on"
    default_key_specs {
      algorithm  = "rsasha256"
      key_length = 2048
      key_type   = "keySigning"
      kind       = "dnsKeySpec"
    }
    default_key_specs {
      algorithm  = "rsasha256"
      key_length = 1024
      key_type   = "zoneSigning"
      kind       = "dnsKeySpec"
    }
  }
}

resource "google_dns_record_set" "apex" {
  project      = var.project_id
  managed_zone = google_dns_managed_zone.main.name
  name         = "${var.domain}."
  type         = "A"
  ttl          = var.ttl
  rrdatas      = [var.ip_address]
}

resource "google_dns_record_set" "wildcard" {
  project      = var.project_id
  managed_zone = google_dns_managed_zone.main.name
  name         = "*.${var.domain}."
  type         = "A"
  ttl          = var.ttl
  rrdatas      = [var.ip_address]
}

resource "google_dns_record_set" "certificate_authorization" {
  project      = var.project_id
  managed_zone = google_dns_managed_zone.main.name
  name         = var.dns_authorization_record.name
  type         = var.dns_authorization_record.type
  ttl          = 300
  rrdatas      = [var.dns_authorization_record.data]
}
