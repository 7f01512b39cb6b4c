output "load_balancer_ip" {
  description = "The one public address."
  value       = module.stack.load_balancer_ip
}

output "name_servers" {
  description = "Delegate the domain to these at the registrar."
  value       = module.stack.name_servers
}

output "image" {
  description = "Image path the deploy pushes to."
  value       = module.stack.image
}

output "operator_secrets" {
  description = "Secrets to fill by hand before the instances can start."
  value       = module.stack.operator_secrets
}

output "github_environment_variables" {
  description = "Set these as variables of the GitHub environment of the same name."
  value       = module.stack.github_environment_variables
}
