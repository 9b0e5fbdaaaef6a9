"""Sources: the operational database's schema, extraction, and the reference hierarchies."""
