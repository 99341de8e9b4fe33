"""`siptest exporter`: a Prometheus probe endpoint in the multi-target pattern.

/probe?module=NAME&target=USER@HOST[:PORT]   run module NAME's check, return its metrics
/metrics                                     the exporter's own health

modules.py   the modules file (YAML): what each module checks, where its password is
probe.py     one probe: `siptest register|call ... --json` in a child process, bounded
metrics.py   a probe's report as Prometheus metrics (prometheus_client, a fresh registry)
server.py    the HTTP server (stdlib ThreadingHTTPServer), concurrency limit, routing
"""
