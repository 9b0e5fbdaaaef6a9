"""Settings: paths, the release configuration, the partner registry, keys and the privacy
requirement. Loaded and validated before a run touches any data."""
