# Cloud SQL for PostgreSQL, reachable only on its private IP, TLS required, daily backups with
# point-in-time recovery, deletion protection, query insights, and flags for many schemas.

resource "random_id" "suffix" {
  byte_length = 3
}

resource "google_sql_database_instance" "main" {
  #checkov:skip=CKV_GCP_6:ssl_mode ENCRYPTED_ONLY refuses every unencrypted connection; client certificates (the only mode this check accepts) would add certificate rotation to a private-IP-only, password-authenticated instance
  #checkov:skip=CKV_GCP_79:PostgreSQL 16 is what CI's tests run against (postgres:16 service container); the two are upgraded together
  #checkov:skip=CKV2_GCP_13:log_duration logs every statement of a busy app; query insights records durations, and log_min_duration_statement can be lowered when needed
  project             = var.project_id
  name                = "${var.name}-pg-${random_id.suffix.hex}"
  region              = var.region
  database_version    = var.database_version
  deletion_protection = var.deletion_protection

  settings {
    tier                        = var.tier
    edition                     = "ENTERPRISE"
    availability_type           = var.high_availability ? "REGIONAL" : "ZONAL"
    disk_type                   = "PD_SSD"
    disk_size                   = var.disk_size_gb
    disk_autoresize             = true
    deletion_protection_enabled = var.deletion_protection

    ip_configuration {
      ipv4_enabled                                  = false
      private_network                               = var.network_id
      ssl_mode                                      = "ENCRYPTED_ONLY"
      enable_private_path_for_google_cloud_services = true
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = "02:00"
      transaction_log_retention_days = var.log_retention_days
      backup_retention_settings {
        retained_backups = var.backup_retention_count
        retention_unit   = "COUNT"
      }
    }

    maintenance_window {
      day          = 7
      hour         = 3
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      query_string_length     = 1024
      record_application_tags = true
      record_client_address   = false
    }

    database_flags {
      name  = "max_locks_per_transaction"
      value = tostring(var.max_locks_per_transaction)
    }
    # Thousands of small tenant tables: more workers, a shorter nap between rounds and a
    # larger shared cost budget, so autovacuum keeps up with every schema, not a few.
    database_flags {
      name  = "autovacuum_max_workers"
      value = tostring(var.autovacuum_max_workers)
    }
    database_flags {
      name  = "autovacuum_naptime"
      value = tostring(var.autovacuum_naptime_seconds)
    }
    database_flags {
      name  = "autovacuum_vacuum_cost_limit"
      value = tostring(var.autovacuum_vacuum_cost_limit)
    }
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
  }
}

resource "google_sql_database" "main" {
  project  = var.project_id
  name     = var.database_name
  instance = google_sql_database_instance.main.name
}

# The password is ephemeral: generated for this apply, written to the user and to the
# DATABASE_URL secret (secrets module) only when password_version changes, never stored in state.
ephemeral "random_password" "user" {
  length  = 40
  special = false
}

resource "google_sql_user" "main" {
  project             = var.project_id
  name                = var.user_name
  instance            = google_sql_database_instance.main.name
  password_wo         = ephemeral.random_password.user.result
  password_wo_version = var.password_version
}
