"""Outbox benchmark: 10,000 queued trip events delivered to a local webhook receiver.

    .venv/bin/python bench/flow.py              # SQLite: one worker
    .venv/bin/python bench/flow.py --drop-existing \
        --database-url postgresql+psycopg://postgres@127.0.0.1/cartable_bench
                                                # PostgreSQL: one worker, then two
    .venv/bin/python bench/flow.py ... --events 2000 --receiver-ms 2
                                                # an endpoint that takes 2 ms to answer

Steps: build a fresh database from the Alembic migrations (SQLite in a temporary directory,
or `--database-url`), create an insurer whose flow is a signed webhook to a receiver served
by waitress in this process on a free loopback port (it checks every signature and counts
each event id), queue the events in bulk, then time `worker --once` processes (each in its
own Python process) until every event is delivered. On PostgreSQL the same events are
delivered again by two workers at once, and the speed-up is printed.

With the receiver answering at once, the workers, the receiver and PostgreSQL share the
machine's CPUs: on 2 CPUs, two workers find no idle CPU to go faster on (each run prints
the CPU time of every worker and of the receiver). `--receiver-ms` makes the receiver take
that long to answer, as a real endpoint across a network does: the workers then wait on it,
and a second worker waits beside the first.

Not a test: issue 11's goals (one worker under 20 s; two workers on PostgreSQL at least 1.6
times faster) are printed beside the figures, nothing fails on them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from standardwebhooks import Webhook  # noqa: E402
from waitress.server import create_server  # noqa: E402

from bench.run import bench_database, free_port  # noqa: E402

GOAL_SECONDS = 20
GOAL_SPEEDUP = 1.6
WORKER = """
import cProfile, json, resource, sys, time
from app import create_app
from app.outbox import worker
from config import TestingConfig

app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=sys.argv[1], MAIL_SERVER=None)
profile = cProfile.Profile() if sys.argv[3] else None
with app.app_context():
    started = time.perf_counter()
    if profile:
        profile.enable()
    tally = worker.deliver_due(limit=int(sys.argv[2]))
    if profile:
        profile.disable()
        profile.dump_stats(sys.argv[3])
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"delivered": tally.delivered, "failed": tally.failed, "seconds": elapsed,
                  "cpu": usage.ru_utime + usage.ru_stime}))
"""


class Receiver:
    """The assistance's endpoint: checks each signature, counts each event id."""

    def __init__(self, secret: str, answer_seconds: float = 0.0):
        self.webhook = Webhook(secret)
        self.answer_seconds = answer_seconds
        self.seen: Counter[str] = Counter()
        self.bad = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {
            name: environ.get("HTTP_" + name.upper().replace("-", "_"), "")
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        }
        try:
            self.webhook.verify(body, headers, json_parse=False)
        except Exception:  # noqa: BLE001 - any failure of the check is a refusal
            with self.lock:
                self.bad += 1
            start_response("401 Unauthorized", [("Content-Length", "0")])
            return [b""]
        with self.lock:
            self.seen[headers["webhook-id"]] += 1
        if self.answer_seconds:
            time.sleep(self.answer_seconds)  # a remote endpoint's network and work
        # 200 with a length: waitress closes the connection after a 204, and a real
        # endpoint keeps it open for the worker's next event.
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]


def setup(url: str, events: int, receiver_url: str) -> str:
    """Migrate, create the insurer with its webhook, queue the events: the secret."""
    from app import create_app
    from app.extensions import db
    from app.models import Insurer, OutboxMessage
    from app.outbox import new_message_id
    from app.outbox.channels import new_webhook_secret
    from config import TestingConfig

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        import flask_migrate

        flask_migrate.upgrade()
        secret = new_webhook_secret()
        insurer = Insurer(
            slug="banc",
            name="Mutuelle du banc",
            flow_channel="webhook",
            flow_target=receiver_url,
            flow_secret=secret,
        )
        db.session.add(insurer)
        db.session.flush()
        rows = []
        for number in range(events):
            message_id = new_message_id()
            body = {
                "id": message_id,
                "type": "trajet.demande",
                "occurred_at": "2026-12-01T08:00:00+01:00",
                "data": {"trip": f"T-2026-{number + 1:06d}", "insurer": "banc"},
            }
            rows.append(
                {
                    "message_id": message_id,
                    "kind": "event",
                    "event_type": "trajet.demande",
                    "insurer_id": insurer.id,
                    "trip_id": number + 1,
                    "summary": f"trajet.demande T-2026-{number + 1:06d}",
                    "payload": json.dumps(body),
                    "attempts": 0,
                }
            )
        db.session.execute(sa.insert(OutboxMessage), rows)
        db.session.commit()
        db.engine.dispose()
    return secret


def requeue(url: str) -> None:
    """Every event owed again, as if just written (the same ids)."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE outbox SET delivered_at = NULL, attempts = 0, locked_until = NULL"
        )
    engine.dispose()


def run_workers(url: str, count: int, batch: int, profile: str = "") -> tuple[float, list[dict]]:
    """Start `count` worker processes together; (wall seconds from start to last exit, tallies).

    The wall time includes each process's start-up (about a second of imports). The CPU
    time the receiver (this process) spent meanwhile is printed: on a machine with few CPUs,
    the receiver and the database share them with the workers."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    receiver_cpu = _cpu_seconds()
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(batch), profile],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(count)
    ]
    tallies = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode != 0:
            sys.exit(f"a worker failed:\n{err.decode()}")
        tallies.append(json.loads(out.decode().strip().splitlines()[-1]))
    wall = time.perf_counter() - started
    print(f"  (receiver: {_cpu_seconds() - receiver_cpu:.1f} s of CPU in {wall:.1f} s)")
    return wall, tallies


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(label: str, wall: float, tallies: list[dict], events: int) -> float:
    busy = max(t["seconds"] for t in tallies)
    delivered = sum(t["delivered"] for t in tallies)
    print(
        f"{label}: {delivered:,} events delivered in {busy:.1f} s of delivery "
        f"({delivered / busy:,.0f} events/s; {wall:.1f} s with process start-up); "
        f"per worker: {', '.join(str(t['delivered']) for t in tallies)} events, "
        f"{', '.join(format(t['cpu'], '.1f') for t in tallies)} s of CPU"
    )
    if delivered != events:
        print(f"  !! {events - delivered} events not delivered")
    return busy


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="events queued (10,000)")
    parser.add_argument("--batch", type=int, default=100, help="rows claimed at once (100)")
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    parser.add_argument(
        "--drop-existing", action="store_true", help="empty --database-url first (all lost)"
    )
    parser.add_argument("--threads", type=int, default=8, help="receiver threads (8)")
    parser.add_argument(
        "--receiver-ms",
        type=float,
        default=0.0,
        help="the receiver answers after this many ms, as a remote endpoint does (0)",
    )
    parser.add_argument("--profile", help="cProfile statistics of the one-worker run to this file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="cartable-flow-") as workdir:
        url = bench_database(args.database_url, args.drop_existing, Path(workdir))
        port = free_port()
        receiver_url = f"http://127.0.0.1:{port}/evenements"
        secret = setup(url, args.events, receiver_url)
        receiver = Receiver(secret, args.receiver_ms / 1000)
        server = create_server(receiver, host="127.0.0.1", port=port, threads=args.threads)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            print(
                f"Database: {url.split('://')[0]}; {args.events:,} events; batch {args.batch}; "
                f"receiver answers in {args.receiver_ms:g} ms + its own work"
            )
            wall, tallies = run_workers(url, 1, args.batch, args.profile or "")
            one = report("1 worker", wall, tallies, args.events)
            goal = "met" if one < GOAL_SECONDS else "NOT met"
            print(f"  goal: under {GOAL_SECONDS} s ({goal})")
            exact = len(receiver.seen) == args.events and max(receiver.seen.values()) == 1
            print(f"  each event id received exactly once: {exact}; bad signatures: {receiver.bad}")
            if url.startswith("postgresql"):
                requeue(url)
                receiver.seen.clear()
                wall, tallies = run_workers(url, 2, args.batch)
                two = report("2 workers", wall, tallies, args.events)
                speedup = one / two
                goal = "met" if speedup >= GOAL_SPEEDUP else "NOT met"
                print(f"  speed-up: {speedup:.2f}× (goal: at least {GOAL_SPEEDUP}×, {goal})")
                exact = len(receiver.seen) == args.events and max(receiver.seen.values()) == 1
                print(f"  each event id received exactly once: {exact}")
            else:
                print(
                    "2 workers: measured on PostgreSQL only (--database-url postgresql+psycopg://…)"
                )
        finally:
            server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
