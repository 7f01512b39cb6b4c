"""Data lifecycle (export, deletion)."""
