"""Use cases of the devices domain, one module per group: the ingest pipeline, inspecting devices and dead
letters, evidence snapshots, cameras, disabling devices, device tokens and broker logins."""
