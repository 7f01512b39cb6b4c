output "load_balancer_ip" {
  description = "The one public address."
  value       = module.load_balancer.ip_address
}

output "name_servers" {
  description = "Delegate the domain to these."
  value       = module.dns.name_servers
}

output "image" {
  description = "Image path (without tag) the deploy pushes to."
  value       = module.registry.image
}

output "database_connection_name" {
  description = "For the Cloud SQL Auth Proxy (operators' psql through IAP)."
  value       = module.database.connection_name
}

output "operator_secrets" {
  description = "Secrets whose versions an operator adds by hand (`gcloud secrets versions add <id> --data-file=-`)."
  value       = [for name, secret in local.secret_catalogue : module.secrets.secret_ids[name] if secret.source == "operator"]
}

output "github_environment_variables" {
  description = "Variables of the GitHub environment named like this one (Settings -> Environments), read by .github/workflows/deploy.yml."
  value = {
    GCP_PROJECT                    = var.project_id
    GCP_REGION                     = var.region
    GCP_WORKLOAD_IDENTITY_PROVIDER = module.github_oidc.provider_name
    GCP_SERVICE_ACCOUNT            = module.service_accounts.emails["deployer"]
    IMAGE                          = module.registry.image
    IMAGE_TAG                      = local.image_tag
    RELEASE_JOB                    = module.release_job.job_name
    INSTANCE_GROUPS                = join(" ", [for role, group in module.roles : "${group.group_manager.scope}/${group.group_manager.location}/${group.group_manager.name}"])
    SMOKE_URL                      = "https://${var.domain}/readyz"
  }
}
