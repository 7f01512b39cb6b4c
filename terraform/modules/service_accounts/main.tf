# One service account per process role (and one for the deployer), each with only the
# project-level roles listed for it; access to single secrets, buckets, repositories and
# jobs is granted on those resources by their modules.

locals {
  grants = {
    for pair in flatten([
      for key, account in var.accounts : [for role in account.project_roles : { key = key, role = role }]
    ]) : "${pair.key}/${pair.role}" => pair
  }
}

resource "google_service_account" "main" {
  for_each     = var.accounts
  project      = var.project_id
  account_id   = "${var.name}-${each.key}"
  display_name = "${var.name} ${each.key}"
  description  = each.value.description
}

resource "google_project_iam_member" "main" {
  for_each = local.grants
  project  = var.project_id
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.main[each.value.key].email}"
}
