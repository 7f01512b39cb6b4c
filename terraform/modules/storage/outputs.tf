output "bucket" {
  description = "Name of the media and reports bucket."
  value       = google_storage_bucket.media.name
}
