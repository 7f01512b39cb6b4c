# One process role on a managed instance group of Container-Optimized OS instances that run the
# one image with `docker run IMAGE <role>`. No external IP; its own service account; Shielded VM;
# OS Login; autoscaling (or exactly one instance for a singleton such as beat).

locals {
  full_name     = "${var.name}-${var.role}"
  registry_host = split("/", var.image)[0]
  env = merge(var.env, {
    PORT = tostring(var.container_port)
  })
  publish = var.http ? "--publish ${var.http_port}:${var.container_port}" : ""
  # A singleton is a zonal group of one, replaced stop-first: never two at once.
  zonal = var.singleton
}

resource "google_compute_instance_template" "main" {
  project      = var.project_id
  name_prefix  = "${local.full_name}-"
  region       = var.region
  machine_type = var.machine_type
  labels       = merge(var.labels, { role = var.role })

  disk {
    source_image = "projects/cos-cloud/global/images/family/cos-stable"
    auto_delete  = true
    boot         = true
    disk_size_gb = 20
    disk_type    = "pd-balanced"
  }

  network_interface {
    subnetwork = var.subnet_id
    # No access_config block: no external IP.
  }

  service_account {
    email  = var.service_account_email
    scopes = ["cloud-platform"] # IAM, not scopes, limits what the account may do
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }

  metadata = {
    user-data                 = templatefile("${path.module}/cloud-init.yaml.tftpl", { env = local.env, role = var.role, image = var.image, registry_host = local.registry_host, publish = local.publish, stop_timeout = var.stop_timeout_seconds })
    enable-oslogin            = "TRUE"
    block-project-ssh-keys    = "TRUE"
    serial-port-enable        = "FALSE"
    google-logging-enabled    = "true"
    google-monitoring-enabled = "true"
  }

  scheduling {
    automatic_restart   = true
    on_host_maintenance = "MIGRATE"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_health_check" "liveness" {
  count   = var.http ? 1 : 0
  project = var.project_id
  name    = "${local.full_name}-liveness"

  # Liveness, not readiness: a database outage must not make the group recreate every instance.
  http_health_check {
    port         = var.http_port
    request_path = "/healthz"
  }
  check_interval_sec  = 15
  timeout_sec         = 5
  healthy_threshold   = 2
  unhealthy_threshold = 4

  log_config {
    enable = false
  }
}

resource "google_compute_region_instance_group_manager" "main" {
  count                     = local.zonal ? 0 : 1
  project                   = var.project_id
  name                      = local.full_name
  region                    = var.region
  base_instance_name        = local.full_name
  distribution_policy_zones = var.zones

  version {
    instance_template = google_compute_instance_template.main.self_link_unique
  }

  dynamic "named_port" {
    for_each = var.http ? [1] : []
    content {
      name = "http"
      port = var.http_port
    }
  }

  dynamic "auto_healing_policies" {
    for_each = var.http ? [1] : []
    content {
      health_check      = google_compute_health_check.liveness[0].id
      initial_delay_sec = 300
    }
  }

  update_policy {
    type                         = "PROACTIVE"
    minimal_action               = "REPLACE"
    instance_redistribution_type = "PROACTIVE"
    # Regional groups count fixed numbers per zone: surge one new instance in every zone
    # before any old one goes.
    max_surge_fixed       = length(var.zones)
    max_unavailable_fixed = 0
    replacement_method    = "SUBSTITUTE"
  }
}

resource "google_compute_region_autoscaler" "main" {
  count   = local.zonal ? 0 : 1
  project = var.project_id
  name    = local.full_name
  region  = var.region
  target  = google_compute_region_instance_group_manager.main[0].id

  autoscaling_policy {
    min_replicas    = var.min_replicas
    max_replicas    = var.max_replicas
    cooldown_period = 120
    cpu_utilization {
      target = var.cpu_target
    }
  }
}

resource "google_compute_instance_group_manager" "singleton" {
  count              = local.zonal ? 1 : 0
  project            = var.project_id
  name               = local.full_name
  zone               = var.zones[0]
  base_instance_name = local.full_name
  target_size        = 1

  version {
    instance_template = google_compute_instance_template.main.self_link_unique
  }

  update_policy {
    type                  = "PROACTIVE"
    minimal_action        = "REPLACE"
    max_surge_fixed       = 0
    max_unavailable_fixed = 1
    replacement_method    = "RECREATE"
  }
}
