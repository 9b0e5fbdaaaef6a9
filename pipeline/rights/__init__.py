"""Customers' rights: deletions that outlive backups (tombstones) and own-data exports."""
