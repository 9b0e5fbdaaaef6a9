"""Release policy: the dataset catalogue, the gate, and publishing with manifests."""
