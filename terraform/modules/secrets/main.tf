# Secret Manager holds every secret the app reads: the instances and the release job fetch them
# at start with their own service accounts (docker/entrypoint.py); none is in instance metadata,
# the image or a variable file.

locals {
  write_only = toset([for name, secret in var.secrets : name if secret.source == "write_only"])
  terraform  = toset([for name, secret in var.secrets : name if secret.source == "terraform"])
  access = {
    for pair in flatten([
      for name, secret in var.secrets : [for key, member in secret.accessors : { secret = name, key = key, member = member }]
    ]) : "${pair.secret}/${pair.key}" => pair
  }
}

resource "google_secret_manager_secret" "main" {
  for_each  = var.secrets
  project   = var.project_id
  secret_id = "${var.name}-${each.key}"
  labels    = { app = "saas", source = replace(each.value.source, "_", "-") }
  annotations = {
    description = each.value.description
  }

  replication {
    dynamic "auto" {
      for_each = length(var.replica_locations) == 0 ? [1] : []
      content {}
    }
    dynamic "user_managed" {
      for_each = length(var.replica_locations) == 0 ? [] : [1]
      content {
        dynamic "replicas" {
          for_each = var.replica_locations
          content {
            location = replicas.value
          }
        }
      }
    }
  }
}

resource "google_secret_manager_secret_version" "write_only" {
  for_each               = local.write_only
  secret                 = google_secret_manager_secret.main[each.key].id
  secret_data_wo         = var.write_only_values[each.key]
  secret_data_wo_version = var.write_only_versions[each.key]
}

resource "google_secret_manager_secret_version" "terraform" {
  for_each    = local.terraform
  secret      = google_secret_manager_secret.main[each.key].id
  secret_data = var.terraform_values[each.key]
}

resource "google_secret_manager_secret_iam_member" "access" {
  for_each  = local.access
  project   = var.project_id
  secret_id = google_secret_manager_secret.main[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${each.value.member}"
}
