"""The demo operational database: a seeded generator and its vocabulary."""
