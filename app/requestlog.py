"""One log line per request, with its request id; plain text or JSON (`LOG_FORMAT=json`).

nginx gives each request an id (`X-Request-Id`) and writes it in its own access log; the
application logs the same id, sends it back in the response, and names it in every log
record written while the request runs, so one id finds a request on both sides.
"""

import json
import logging
import re
import secrets
import sys
import time

from flask import Flask, Response, g, has_request_context, request
from flask.logging import default_handler

logger = logging.getLogger("cartable.requests")

# nginx's $request_id is 32 hex digits; a load balancer's may hold dashes. Anything else
# (too long, other characters) is replaced rather than written into the logs.
_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,64}")


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    return g.get("request_id") if has_request_context() else None


def _start() -> None:
    given = request.headers.get("X-Request-Id", "")
    g.request_id = given if _REQUEST_ID.fullmatch(given) else secrets.token_hex(16)
    g.request_started = time.perf_counter()


def _logged_path() -> str:
    """The path, except where it carries a secret (an e-mailed link's token): the route."""
    rule = request.url_rule
    if rule is not None and "<token>" in rule.rule:
        return rule.rule
    return request.path


def _finish(response: Response) -> Response:
    started = g.get("request_started")
    if started is None:  # a response made before the first hook ran
        _start()
        started = g.request_started
    rid, method, path, status = g.request_id, request.method, _logged_path(), response.status_code
    response.headers["X-Request-Id"] = rid
    logger.info(
        "%s %s %s",
        method,
        path,
        status,
        extra={
            "request_id": rid,
            "request": {
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "client": request.remote_addr,
                "scheme": request.scheme,
            },
        },
    )
    return response


class _RequestIdFilter(logging.Filter):
    """Names the request id in every record written during a request (errors included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        return True


# A path may hold an encoded line break (%0A, %C2%85, %E2%80%A8…) or a terminal's escape:
# written as is, it would start a forged line. Control characters and Unicode's line and
# paragraph separators are written escaped (`\\n`, `\\x85`, `\\u2028`).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escaped(text: str) -> str:
    return _UNPRINTABLE.sub(lambda found: found.group().encode("unicode_escape").decode(), text)


class TextFormatter(logging.Formatter):
    """`2026-05-21 08:30:00 INFO [id] GET /trajets 200 12.3ms client=… scheme=…`, one line
    per record (a traceback apart): control characters in the message are escaped."""

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None) or "-"
        line = f"{self.formatTime(record)} {record.levelname} [{rid}] "
        line += _escaped(record.getMessage())
        details = getattr(record, "request", None)
        if details:
            line += (
                f" {details['duration_ms']}ms client={details['client']} scheme={details['scheme']}"
            )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for a log collector."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None),
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "request", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def log_handler(log_format: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    handler.set_name("cartable")
    return handler


def configure_logging(log_format: str) -> None:
    """Every record of the process (the application's, waitress's) through one handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "cartable":
            root.removeHandler(handler)
    root.addHandler(log_handler(log_format))
    root.setLevel(logging.INFO)
    # No formatter here prints where a record was logged from, nor its thread or process:
    # spare every record the walk up the stack and the lookups that find them (the logging
    # HOWTO, « Optimization »).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # Alembic announces its plugins at import: nothing an operator needs.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def init_app(app: Flask) -> None:
    # First of the hooks: a request refused by an earlier check still gets its id and line.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    if not app.testing:
        configure_logging(app.config["LOG_FORMAT"])
        app.logger.removeHandler(default_handler)  # its records reach the root's handler
