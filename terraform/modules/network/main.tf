# One custom VPC: no default subnets, no default firewall rules. Instances have no public IP;
# egress goes through Cloud NAT, Google APIs through Private Google Access, and Cloud SQL and
# Memorystore sit in Google's producer network behind private service access.

locals {
  # Google's documented source ranges for the global external Application Load Balancer's
  # proxies and health checks, and for Identity-Aware Proxy TCP forwarding.
  load_balancer_ranges = ["35.191.0.0/16", "130.211.0.0/22"]
  iap_range            = "35.235.240.0/20"
}

resource "google_compute_network" "main" {
  project                         = var.project_id
  name                            = "${var.name}-vpc"
  auto_create_subnetworks         = false
  routing_mode                    = "REGIONAL"
  delete_default_routes_on_create = false
}

resource "google_compute_subnetwork" "main" {
  project                  = var.project_id
  name                     = "${var.name}-subnet"
  region                   = var.region
  network                  = google_compute_network.main.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_5_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_router" "main" {
  project = var.project_id
  name    = "${var.name}-router"
  region  = var.region
  network = google_compute_network.main.id
}

resource "google_compute_router_nat" "main" {
  project                            = var.project_id
  name                               = "${var.name}-nat"
  router                             = google_compute_router.main.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

# --- Private service access (Cloud SQL, Memorystore) ------------------------------------------
resource "google_compute_global_address" "private_services" {
  project       = var.project_id
  name          = "${var.name}-private-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = var.private_services_prefix_length
  network       = google_compute_network.main.id
}

resource "google_service_networking_connection" "private_services" {
  network                 = google_compute_network.main.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services.name]
  # Deleting the connection fails while Cloud SQL's producer still holds addresses in it (it
  # keeps them for a while after the instance is gone). ABANDON drops it from state instead;
  # the peering it leaves is removed by hand before the network can go (terraform/README.md,
  # "Destroy and rebuild").
  deletion_policy = "ABANDON"
}

# --- Firewall: the load balancer to HTTP, IAP to SSH, nothing else in -------------------------
resource "google_compute_firewall" "allow_load_balancer" {
  project     = var.project_id
  name        = "${var.name}-allow-lb-http"
  network     = google_compute_network.main.id
  description = "The load balancer's proxies and health checks reach the HTTP instances, on the serving port only."
  direction   = "INGRESS"
  priority    = 1000

  source_ranges           = local.load_balancer_ranges
  target_service_accounts = var.http_service_accounts

  allow {
    protocol = "tcp"
    ports    = [tostring(var.http_port)]
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_firewall" "allow_iap_ssh" {
  project     = var.project_id
  name        = "${var.name}-allow-iap-ssh"
  network     = google_compute_network.main.id
  description = "SSH only through Identity-Aware Proxy (gcloud compute ssh --tunnel-through-iap)."
  direction   = "INGRESS"
  priority    = 1000

  source_ranges           = [local.iap_range]
  target_service_accounts = var.all_service_accounts

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

# Everything else is refused. GCP's implied rule already denies ingress at priority 65535;
# this one says so in code and logs what it refuses.
resource "google_compute_firewall" "deny_all_ingress" {
  project     = var.project_id
  name        = "${var.name}-deny-all-ingress"
  network     = google_compute_network.main.id
  description = "Deny every other inbound connection."
  direction   = "INGRESS"
  priority    = 65534

  source_ranges = ["0.0.0.0/0"]

  deny {
    protocol = "all"
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}
