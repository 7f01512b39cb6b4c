# The global external Application Load Balancer: HTTPS with a Certificate Manager wildcard
# certificate (classic Google-managed certificates cannot be wildcards), HTTP redirected to
# HTTPS, and a URL map that sends /ws/ to a backend whose timeout outlives a socket.

resource "google_compute_global_address" "main" {
  project      = var.project_id
  name         = "${var.name}-lb"
  address_type = "EXTERNAL"
  ip_version   = "IPV4"
}

# --- Certificate: `<domain>` and `*.<domain>`, proven by one DNS authorization ----------------
resource "google_certificate_manager_dns_authorization" "main" {
  project     = var.project_id
  name        = "${var.name}-dns-auth"
  domain      = var.domain
  description = "Proves control of ${var.domain} for its wildcard certificate."
}

resource "google_certificate_manager_certificate" "main" {
  project     = var.project_id
  name        = "${var.name}-wildcard"
  description = "${var.domain} and *.${var.domain}"
  scope       = "DEFAULT"

  managed {
    domains            = [var.domain, "*.${var.domain}"]
    dns_authorizations = [google_certificate_manager_dns_authorization.main.id]
  }
}

resource "google_certificate_manager_certificate_map" "main" {
  project = var.project_id
  name    = "${var.name}-certs"
}

resource "google_certificate_manager_certificate_map_entry" "main" {
  for_each     = toset([var.domain, "*.${var.domain}"])
  project      = var.project_id
  name         = replace(replace("${var.name}-${each.key}", "*.", "wildcard-"), ".", "-")
  map          = google_certificate_manager_certificate_map.main.name
  hostname     = each.key
  certificates = [google_certificate_manager_certificate.main.id]
}

resource "google_compute_ssl_policy" "main" {
  project         = var.project_id
  name            = "${var.name}-tls"
  profile         = "MODERN"
  min_tls_version = "TLS_1_2"
}

# --- Backends -------------------------------------------------------------------------------
resource "google_compute_health_check" "readiness" {
  project = var.project_id
  name    = "${var.name}-readyz"

  # Readiness: PostgreSQL, Redis and migrations. /readyz answers any Host over plain HTTP.
  http_health_check {
    port         = var.health_check_port
    request_path = "/readyz"
  }
  check_interval_sec  = 10
  timeout_sec         = 5
  healthy_threshold   = 2
  unhealthy_threshold = 3
}

resource "google_compute_backend_service" "main" {
  for_each                        = var.backends
  project                         = var.project_id
  name                            = "${var.name}-${each.key}"
  protocol                        = "HTTP"
  port_name                       = "http"
  load_balancing_scheme           = "EXTERNAL_MANAGED"
  timeout_sec                     = each.value.timeout_sec
  connection_draining_timeout_sec = each.value.draining_timeout_sec
  health_checks                   = [google_compute_health_check.readiness.id]
  security_policy                 = var.security_policy

  backend {
    group = each.value.instance_group
    # Every backend service that shares a group must use the same balancing mode.
    balancing_mode  = "UTILIZATION"
    max_utilization = 0.8
    capacity_scaler = 1.0
  }

  log_config {
    enable      = true
    sample_rate = var.log_sample_rate
  }
}

resource "google_compute_url_map" "https" {
  project         = var.project_id
  name            = "${var.name}-https"
  default_service = google_compute_backend_service.main[var.default_backend].id

  host_rule {
    hosts        = ["*"]
    path_matcher = "routes"
  }

  path_matcher {
    name            = "routes"
    default_service = google_compute_backend_service.main[var.default_backend].id

    dynamic "path_rule" {
      for_each = var.path_rules
      content {
        paths   = path_rule.value
        service = google_compute_backend_service.main[path_rule.key].id
      }
    }
  }
}

resource "google_compute_target_https_proxy" "main" {
  project         = var.project_id
  name            = "${var.name}-https"
  url_map         = google_compute_url_map.https.id
  certificate_map = "//certificatemanager.googleapis.com/${google_certificate_manager_certificate_map.main.id}"
  ssl_policy      = google_compute_ssl_policy.main.id
}

resource "google_compute_global_forwarding_rule" "https" {
  project               = var.project_id
  name                  = "${var.name}-https"
  target                = google_compute_target_https_proxy.main.id
  ip_address            = google_compute_global_address.main.id
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}

# --- Plain HTTP only redirects --------------------------------------------------------------
resource "google_compute_url_map" "redirect" {
  project = var.project_id
  name    = "${var.name}-redirect"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_target_http_proxy" "redirect" {
  project = var.project_id
  name    = "${var.name}-redirect"
  url_map = google_compute_url_map.redirect.id
}

resource "google_compute_global_forwarding_rule" "http" {
  project               = var.project_id
  name                  = "${var.name}-http"
  target                = google_compute_target_http_proxy.redirect.id
  ip_address            = google_compute_global_address.main.id
  port_range            = "80"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}
