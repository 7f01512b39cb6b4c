"""Background jobs (reports)."""
