"""`siptest exporter`: a Prometheus probe endpoint (/probe?module=&target=, /metrics)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from siptest.cli import common


def exporter(
    config: Annotated[
        Path,
        typer.Option("--config", metavar="PATH", help="The modules file (YAML).", dir_okay=False),
    ],
    listen: Annotated[
        str,
        typer.Option(metavar="HOST:PORT", help="Address to serve on (port 0: any free port)."),
    ] = "127.0.0.1:9467",
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Probes running at once; more get 503.")
    ] = 4,
    default_timeout: Annotated[
        float,
        typer.Option(
            min=1,
            max=300,
            help="Seconds a probe may take when the scrape does not send "
            "X-Prometheus-Scrape-Timeout-Seconds.",
        ),
    ] = 10.0,
) -> None:
    """Serve /probe?module=NAME&target=USER@HOST[:PORT] for Prometheus, and /metrics.

    Each probe runs `siptest register` or `siptest call` as its module in the
    modules file says, in a child process; the password comes from the module's
    password_env or password_file, never from the URL, and a target must be at one
    of the module's servers (400 otherwise). Stops on Ctrl-C or SIGTERM
    (exit 0). Exit status: 2 bad modules file or option, 3 cannot listen.
    """
    common.guarded(lambda: _serve(config, listen, concurrency, default_timeout))


def _serve(config: Path, listen: str, concurrency: int, default_timeout: float) -> None:
    import signal
    import threading

    from siptest.errors import CannotRunError
    from siptest.exporter.modules import load_modules
    from siptest.exporter.server import Exporter, ProbeServer, log

    modules = load_modules(config)
    host, port = parse_listen(listen)
    try:
        server = ProbeServer((host, port), Exporter(modules, concurrency, default_timeout))
    except OSError as error:
        raise CannotRunError(
            f"Could not listen on {listen} ({error.strerror}). Pick another --listen port "
            "or stop what uses it."
        ) from None
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    log(f"listening on http://{shown}:{bound_port}/ (modules: {', '.join(sorted(modules))})")

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.exporter.children.terminate_all()
        server.server_close()
    log("stopped")


def parse_listen(listen: str) -> tuple[str, int]:
    """`HOST:PORT` or `[IPv6]:PORT`; port 0 picks a free port."""
    from siptest.errors import UsageError
    from siptest.target import parse_hostport

    host, port = parse_hostport(listen, "--listen", lowest_port=0)
    if port is None:
        raise UsageError(f"--listen {listen}: give HOST:PORT, e.g. 127.0.0.1:9467 or [::1]:9467.")
    return host, port
