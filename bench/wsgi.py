"""The application as served for the benchmark, plus a bare route and two instruments.

None of this exists in the real application:
- `/bench-hello` measures what waitress and Flask cost by themselves in the same process,
  so that page figures read as a ratio;
- every response carries `X-Bench-SQL`, the number of SQL statements its request ran;
- with `BENCH_PROFILE` set to a file name, each request runs under cProfile (one profiler
  per waitress thread) and the merged statistics are written to that file when the server
  is stopped (SIGTERM).
"""

import cProfile
import os
import pstats
import signal
import sys
import threading

import sqlalchemy as sa
from flask import g, has_request_context

from app import create_app
from app.extensions import db

app = create_app()


@app.get("/bench-hello")
def bench_hello():
    return "hello"


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
