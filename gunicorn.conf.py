"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py stubcollector.wsgi:app``.

Every value can be changed from the environment (names below). Why these choices:

* ``gthread`` workers: requests spend most of their time waiting on PostgreSQL, Redis or
  Stripe, so a few threads per process keep the cores busy without one process per request.
* ``preload_app`` is off by default. Preloading saves memory, but ``kill -HUP`` (graceful
  reload) then cannot load new code, and anything opened while importing (database pool,
  the in-process job pool when REDIS_URL is unset) would be shared across forks. When
  ``GUNICORN_PRELOAD=true``, ``post_fork`` disposes the inherited database pool.
* Graceful reload: ``kill -HUP <master>`` starts new workers with new code and config and
  lets the old ones finish their requests (``graceful_timeout``); the old ones stop
  accepting at once, so new connections wait in the listen backlog while the new workers
  import the app (none is dropped). For no pause at all, upgrade with ``USR2`` (a second
  master with the new code starts beside the old one) and then ``WINCH`` + ``QUIT`` the old
  master; see docs/DEPLOYMENT.md.
* Metrics: each worker counts for itself; ``PROMETHEUS_MULTIPROC_DIR`` (set here before the
  app is imported, emptied at start) lets any worker's ``/metrics`` report all of them.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import tempfile
from typing import Any

from gunicorn import glogging


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{_int('PORT', 8000)}"
# Two processes per core plus one, capped: the database, not the CPU, is the usual limit.
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 9))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = _int("GUNICORN_THREADS", 4)
# A request that takes longer than this is stuck (Stripe calls time out well before).
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Off by default. With a shared listening socket every worker races to accept, and a
# keep-alive connection stays with the worker that won it: a proxy's pool of long-lived
# connections can leave one process doing most of the work (docs/PERFORMANCE.md). With
# GUNICORN_REUSE_PORT=true each worker listens on its own SO_REUSEPORT socket and the
# kernel spreads new connections evenly over them — but a worker that stops (reload,
# crash) resets the connections still waiting in its own accept queue, where with the
# shared socket another worker would have taken them (nginx then answers a POST caught
# that way with a 502). Prefer it where deploys start a new master beside the old one
# (USR2); docs/DEPLOYMENT.md, "Scaling", weighs it.
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "false").strip().lower() in ("1", "true", "yes")
# Recycling workers after N requests is off: at a few hundred requests a second a low N
# restarts every worker every few seconds, and a worker importing the app serves nobody
# (the first load runs showed multi-second stalls from exactly that). Turn it on only to
# contain a leak, with a large N and jitter so that workers never restart together.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)
preload_app = os.environ.get("GUNICORN_PRELOAD", "false").strip().lower() in ("1", "true", "yes")
# The app writes one JSON line per request itself (with the request id); gunicorn's access
# log would only repeat it. Errors still go to stderr.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# gunicorn's own lines (boot, worker exits, timeouts) in the same JSON as the app's, so one
# log pipeline reads both. The root logger is left to the app, which installs its handler.
_json_logs = os.environ.get("LOG_FORMAT", "").strip().lower() == "json" or (
    not os.environ.get("LOG_FORMAT", "").strip()
    and os.environ.get("APP_ENV", "").strip().lower() == "production"
)


class _AccessLineOnlyWhenAsked(glogging.Logger):
    """gunicorn formats an access line for every request whenever ``logconfig_dict`` is
    set, with an access log or without; the app logs each request itself."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if accesslog:
            super().access(resp, req, environ, request_time)


if _json_logs:
    logger_class = _AccessLineOnlyWhenAsked
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": loglevel.upper(), "handlers": []},
        "formatters": {"json": {"()": "stubcollector.observability.logs.JsonFormatter"}},
        "handlers": {
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "gunicorn.error": {
                "level": loglevel.upper(),
                "handlers": ["error_console"],
                "propagate": False,
            },
            "gunicorn.access": {
                "level": "INFO",
                "handlers": ["console"] if accesslog else [],
                "propagate": False,
            },
        },
    }

# Behind a proxy on the same host, trust its X-Forwarded-* (the app's ProxyFix decides
# how many hops via TRUSTED_PROXY_COUNT).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# USR2 upgrades rename this file to <name>.oldbin, which tells the old master from the new.
pidfile = os.environ.get("GUNICORN_PIDFILE") or None

# gunicornc's control socket; give each instance on a host its own path.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]

_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(
    tempfile.gettempdir(), f"stubcollector-metrics-{os.getpid()}"
)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(_server: Any) -> None:
    # Counters from a previous run would be added to this one's.
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def post_fork(_server: Any, worker: Any) -> None:
    if not preload_app:
        return
    from stubcollector.extensions import db

    app = worker.app.wsgi()
    with app.app_context():
        # Connections opened by the master must not be shared by the children.
        db.engine.dispose(close=False)


def post_worker_init(_worker: Any) -> None:
    # The objects the app is built of (modules, routes, models, SQLAlchemy metadata: about
    # 140,000) live as long as the worker, yet every full garbage collection walks them
    # all, holding the GIL for 40 ms or more while every request thread waits; fresh
    # workers collect often. Freezing them after one last collection leaves only what
    # requests allocate for the collector (docs/PERFORMANCE.md, fifth pass).
    gc.collect()
    gc.freeze()


def worker_exit(_server: Any, worker: Any) -> None:
    app = getattr(worker, "wsgi", None)
    if app is None:
        return
    from stubcollector.container import EXTENSION_KEY

    services = getattr(app, "extensions", {}).get(EXTENSION_KEY)
    if services is not None:
        # Let in-process jobs that already started finish before the process goes.
        services.jobs.shutdown()


def child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _metrics_dir)
