"""Benchmarks: scripts run as files (`python bench/<name>.py`); a package so names never clash with apps."""
