"""The application as production serves it (`wsgi:app`), a bare hello beside it, instruments.

waitress serves `application`: `/bench-hello` goes to a bare Flask application, everything
else to `wsgi:app`. None of this exists in the real application:
- `/bench-hello` measures what waitress and Flask cost by themselves, with none of the
  portal's hooks, in the same process: page figures read as a ratio to it (issue 10);
- `/bench-app-hello` is the portal's own empty page: what every request costs in its
  hooks (session, rate limits, security headers, request log) before any page work;
- every response carries `X-Bench-SQL`, the number of SQL statements its request ran;
- `/bench-usage` answers the process's CPU seconds and the garbage collector's pauses since
  the previous call, so that a page's figures include the CPU each request costs (steadier
  than requests per second on a shared machine) and the longest pause of every thread;
- with `BENCH_PROFILE` set to a file name, each request runs under cProfile (one profiler
  per waitress thread) and the merged statistics are written to that file when the server
  is stopped (SIGTERM).
"""

import cProfile
import gc
import os
import pstats
import signal
import sys
import threading
import time

import sqlalchemy as sa
from flask import Flask, g, has_request_context

from app.extensions import db
from wsgi import app

HELLO, APP_HELLO = "/bench-hello", "/bench-app-hello"
bare = Flask("bench_hello")


@bare.get(HELLO)
def bench_hello():
    return "hello"


@app.get(APP_HELLO)
def bench_app_hello():
    return "hello"


def application(environ, start_response):
    """The bare hello beside the portal, in one waitress process."""
    served = bare if environ.get("PATH_INFO") == HELLO else app
    return served(environ, start_response)


class _Pauses:
    """The collector's pauses: a gc callback sees each collection start and stop."""

    def __init__(self) -> None:
        self.started = 0.0
        self.longest = self.total = 0.0
        self.collections = 0

    def __call__(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        pause = time.perf_counter() - self.started
        self.longest, self.total = max(self.longest, pause), self.total + pause
        self.collections += 1


_pauses = _Pauses()
gc.callbacks.append(_pauses)
_usage_lock = threading.Lock()


@app.get("/bench-usage")
def bench_usage():
    """CPU seconds of the whole process so far, and the collector's pauses since last asked."""
    with _usage_lock:
        answer = {
            "cpu_seconds": time.process_time(),
            "gc_longest_ms": _pauses.longest * 1000,
            "gc_total_ms": _pauses.total * 1000,
            "gc_collections": _pauses.collections,
        }
        _pauses.longest = _pauses.total = 0.0
        _pauses.collections = 0
    return answer


def _count_statement(*_args) -> None:
    if has_request_context():
        g.bench_statements = g.get("bench_statements", 0) + 1


with app.app_context():
    sa.event.listen(db.engine, "before_cursor_execute", _count_statement)


@app.after_request
def _report_statements(response):
    response.headers["X-Bench-SQL"] = str(g.get("bench_statements", 0))
    return response


PROFILE_PATH = os.environ.get("BENCH_PROFILE")
if PROFILE_PATH:
    _profiles: list[cProfile.Profile] = []
    _local = threading.local()
    _served = app.wsgi_app

    def _profiled(environ, start_response):
        profile = getattr(_local, "profile", None)
        if profile is None:
            profile = _local.profile = cProfile.Profile()
            _profiles.append(profile)
        profile.enable()
        try:
            # The body is built inside the call for these pages (no streaming).
            return list(_served(environ, start_response))
        finally:
            profile.disable()

    def _dump(*_args) -> None:
        stats = None
        for profile in _profiles:
            if stats is None:
                stats = pstats.Stats(profile)
            else:
                stats.add(profile)
        if stats is not None:
            stats.dump_stats(PROFILE_PATH)
        sys.exit(0)

    app.wsgi_app = _profiled
    signal.signal(signal.SIGTERM, _dump)
