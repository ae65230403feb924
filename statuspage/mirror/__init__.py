"""The standby copy: every public page published as static files to independent hosting
(a directory nginx serves, S3-compatible object storage), after every change and as a heartbeat."""
