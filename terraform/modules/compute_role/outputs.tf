output "instance_group" {
  description = "The group's instance group URL (a load balancer backend)."
  value       = local.zonal ? google_compute_instance_group_manager.singleton[0].instance_group : google_compute_region_instance_group_manager.main[0].instance_group
}

output "group_manager" {
  description = "Name and location of the group manager, for `gcloud compute instance-groups managed rolling-action replace`."
  value = {
    name     = local.full_name
    location = local.zonal ? var.zones[0] : var.region
    scope    = local.zonal ? "zone" : "region"
  }
}
