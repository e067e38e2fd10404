"""Pipeline services the Lambda handlers call: ingest, submit, poll, responses (pure domain over ports)."""
