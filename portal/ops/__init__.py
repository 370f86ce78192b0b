"""Running the portal for years: backups and restores, upgrades, readiness and metrics."""
