"""Reports: the dashboard, the records tables, the cascade view and their downloads."""
