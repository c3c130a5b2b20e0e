"""Routes, one module per domain and face; thin over the domain services."""
