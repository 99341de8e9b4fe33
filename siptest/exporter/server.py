"""The exporter's HTTP server: /probe, /metrics, and nothing else.

The standard library's ThreadingHTTPServer: two GET routes need no framework, and
prometheus_client's own `start_http_server` is built on the same server. Each
request has its thread; a semaphore bounds the probes running at once, and a
probe that cannot start before half its time is gone gets 503.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, generate_latest

from siptest.errors import UsageError
from siptest.exporter.modules import Module
from siptest.exporter.probe import Children, ProbeResult, run_probe

TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"
MARGIN_S = 0.5
"""Kept from the scrape timeout so the answer reaches Prometheus in time."""
MAX_TIMEOUT_S = 300.0
IDLE_S = 30.0
"""Seconds a client may take to send its request, or to take the answer, before its
connection is dropped: each connection has a thread, and idle ones must not pile up.
The probe itself is not bounded by it (the socket is not touched while it runs)."""

# The exporter's own health, in prometheus_client's default registry (/metrics).
PROBES = Counter("siptest_exporter_probes", "Probes run, by module.", ["module"])
FAILURES = Counter(
    "siptest_exporter_probe_failures", "Probes that did not succeed, by module.", ["module"]
)
REJECTED = Counter(
    "siptest_exporter_probes_rejected",
    "Probes refused with 503 because --concurrency probes were already running.",
)
IN_FLIGHT = Gauge(
    "siptest_exporter_probes_in_flight",
    "Probes running now, those still cleaning up after their answer included.",
)

_PASSWORDISH = ("pass", "pwd", "secret", "token", "auth")


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


def _text(status: int, message: str) -> Reply:
    return Reply(status, (message + "\n").encode("utf-8"))


class Exporter:
    """What the routes do, apart from HTTP: testable in-process."""

    def __init__(
        self,
        modules: dict[str, Module],
        concurrency: int = 4,
        default_timeout: float = 10.0,
    ) -> None:
        self.modules = modules
        self.concurrency = concurrency
        self.default_timeout = default_timeout
        self.slots = threading.BoundedSemaphore(concurrency)
        self.children = Children()

    def probe(self, query: str, timeout_header: str | None) -> Reply:
        params = parse_qs(query, keep_blank_values=True)
        for key in params:
            if any(word in key.lower() for word in _PASSWORDISH):
                # never the name in the log: it is anyone's text, a pasted secret even
                log("refused a probe with a password-like parameter: passwords never go in a URL")
                return _text(
                    400,
                    f"Refused: the parameter '{key}' looks like a password. A password in a URL "
                    "ends up in Prometheus' configuration, its logs and every proxy's logs: "
                    "change that password now. Name where the password is in the module "
                    "(password_env or password_file) instead.",
                )
        unknown = sorted(set(params) - {"module", "target"})
        if unknown:
            return _text(
                400, f"Unknown parameter(s): {', '.join(unknown)}. Give module and target."
            )
        name = _single(params, "module")
        if name is None or name not in self.modules:
            known = ", ".join(sorted(self.modules))
            return _text(400, f"Unknown or missing module {name!r}. Give module= one of: {known}.")
        target = _single(params, "target")
        problem = target_problem(target)
        if problem is not None or target is None:
            return _text(400, problem or "Give target=USER@HOST[:PORT].")
        module = self.modules[name]
        if not module.allows(target):
            # never the target in the log: the query string is anyone's text
            log(f"refused a probe of module {name}: its target is not at one of its servers")
            allowed = ", ".join(str(server) for server in module.servers)
            return _text(
                400,
                f"Refused: the target's server is not one of module {name}'s servers "
                f"({allowed}). The check would send a digest of the module's password to "
                f"it. If it should be probed, add it to servers: of module {name} in the "
                "modules file.",
            )
        deadline = self.deadline(timeout_header)
        started = time.monotonic()
        if not self.slots.acquire(timeout=deadline / 2):
            REJECTED.inc()
            return _text(
                503,
                f"{self.concurrency} probes are running already (--concurrency); this one could "
                "not start in time. Raise --concurrency or scrape less often.",
            )
        IN_FLIGHT.inc()

        def child_gone() -> None:
            IN_FLIGHT.dec()
            self.slots.release()

        left = deadline - (time.monotonic() - started)
        # kept back for the child's report after SIGTERM; its clean-up may go on after
        # the answer (probe.CLEAN_UP_S), and the slot stays taken until the child exits
        grace = min(1.0, left / 3)
        try:
            result = run_probe(module, target, left - grace, grace, self.children, child_gone)
        except OSError as error:  # run_probe gave the slot back (child_gone)
            log(f"probe of module {name}: could not start siptest ({error.strerror})")
            return _text(
                500,
                f"The exporter could not start the probe's siptest process ({error.strerror}). "
                "Check the exporter's limits (open files, processes, memory) and its log.",
            )
        self.count(name, result)
        from siptest.exporter.metrics import probe_metrics

        return Reply(200, probe_metrics(result), CONTENT_TYPE_LATEST)

    def deadline(self, header: str | None) -> float:
        """Seconds the probe may take: the scrape timeout less a margin, else the default."""
        try:
            scrape = float(header) if header is not None else None
        except ValueError:
            scrape = None
        if scrape is None or not 0 < scrape <= MAX_TIMEOUT_S:
            return self.default_timeout
        return max(scrape - MARGIN_S, 0.1)

    def count(self, module: str, result: ProbeResult) -> None:
        PROBES.labels(module).inc()
        if not result.success:
            FAILURES.labels(module).inc()
            why = result.error
            log(f"probe of module {module} failed" + (f": {why}" if why else " (diagnosed)"))


def _single(params: dict[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    return values[0] if values and len(values) == 1 else None


def target_problem(target: str | None) -> str | None:
    """Why a target cannot be probed (None when it can)."""
    from siptest.target import parse_target

    if not target:
        return "Give target=USER@HOST[:PORT]."
    if len(target) > 256 or any(not ch.isprintable() or ch.isspace() for ch in target):
        return "target must be USER@HOST[:PORT]: no spaces or control characters, 256 at most."
    if target.startswith("-"):
        return "target must be USER@HOST[:PORT], not an option."
    try:
        parse_target(target)
    except UsageError as error:
        return str(error)
    return None


def log(message: str) -> None:
    sys.stderr.write(f"siptest exporter: {message}\n")
    sys.stderr.flush()


class Handler(BaseHTTPRequestHandler):
    server: ProbeServer
    server_version = "siptest-exporter"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(IDLE_S)  # a timeout ends the request, logged, no trace

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/probe":
            reply = self.server.exporter.probe(url.query, self.headers.get(TIMEOUT_HEADER))
        elif url.path == "/metrics":
            reply = Reply(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        elif url.path == "/":
            modules = ", ".join(sorted(self.server.exporter.modules))
            reply = _text(
                200,
                "siptest exporter\n/probe?module=NAME&target=USER@HOST[:PORT]\n/metrics\n"
                f"modules: {modules}",
            )
        else:
            reply = _text(404, "Not found. Try /probe?module=NAME&target=USER@HOST or /metrics.")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The path only: a query string could hold what someone should not have put there.
        log(f'{self.address_string()} "{self.command} {urlsplit(self.path).path}" {code}')

    def log_message(self, format: str, *args: object) -> None:
        log(f"{self.address_string()} {format % args}")


class ProbeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], exporter: Exporter) -> None:
        import socket

        self.exporter = exporter
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
