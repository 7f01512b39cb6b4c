output "image" {
  description = "Image path without tag: <region>-docker.pkg.dev/<project>/<repository>/app."
  value       = "${var.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.main.repository_id}/app"
}
