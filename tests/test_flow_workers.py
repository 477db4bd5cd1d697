"""Worker processes against a real receiver: two workers on PostgreSQL never deliver the
same event twice, and a worker killed mid-batch loses nothing."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import outbox
from app.extensions import db
from app.models import Insurer, OutboxMessage
from tests.flow_helpers import Serving, make_receiver, send_events_to

ROOT = Path(__file__).resolve().parent.parent
WORKER = """
import json, sys
from app import create_app
from app.outbox import worker
from config import TestingConfig

app = create_app(
    TestingConfig, SQLALCHEMY_DATABASE_URI=sys.argv[1], OUTBOX_LEASE_SECONDS=float(sys.argv[2])
)
with app.app_context():
    tally = worker.deliver_due(limit=int(sys.argv[3]))
print(json.dumps({"delivered": tally.delivered, "failed": tally.failed}))
"""


@pytest.fixture
def receiver(app, demo):
    receiver = make_receiver()
    serving = Serving(receiver)
    serving.start()
    send_events_to(app, receiver)
    yield receiver
    serving.stop()


@pytest.fixture
def workers(database_url):
    """Start worker processes (`worker --once` on the test database); killed if left over."""
    started = []

    def start(lease: float = 300, batch: int = 50) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER, database_url, str(lease), str(batch)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def queue_events(app, count: int) -> list[str]:
    """`count` events of as many trips, for the demo insurer; their message ids."""
    with app.app_context():
        insurer_id = db.session.scalar(sa.select(Insurer.id).where(Insurer.slug == "demo"))
        ids = []
        for number in range(count):
            message_id = outbox.new_message_id()
            body = json.dumps({"id": message_id, "type": "trajet.demande", "data": {"n": number}})
            outbox.add_event(message_id, "trajet.demande", insurer_id, number + 1, body, "test")
            ids.append(message_id)
        db.session.commit()
        return ids


def finished(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


def test_two_workers_on_postgresql_deliver_each_of_1000_events_exactly_once(
    app, database_url, receiver, workers
):
    if not database_url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED claims need PostgreSQL (TEST_DATABASE_URL)")
    ids = queue_events(app, 1000)

    def slow_answer(event):
        time.sleep(0.002)  # both workers are still at work when the other claims
        return 200

    receiver.answer = slow_answer
    first, second = workers(), workers()
    tallies = [finished(first), finished(second)]
    delivered = Counter(receiver.ids())
    assert set(delivered) == set(ids)
    assert max(delivered.values()) == 1  # no event reached the receiver twice
    assert sum(t["delivered"] for t in tallies) == 1000
    assert all(t["delivered"] > 0 for t in tallies), tallies  # both took part
    with app.app_context():
        owed = db.session.scalar(
            sa.select(sa.func.count()).where(OutboxMessage.delivered_at.is_(None))
        )
        assert owed == 0


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_carry_the_same_id(
    app, receiver, workers
):
    ids = queue_events(app, 60)

    def slow_answer(event):
        time.sleep(0.03)
        return 200

    receiver.answer = slow_answer
    lease = 3.0
    victim = workers(lease=lease, batch=60)
    deadline = time.monotonic() + 60
    while len(receiver.ids()) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    # Its rows stay leased until the lease ends, then another worker takes them again.
    time.sleep(lease + 0.5)
    # Read after the wait: a request in flight at the kill may have been answered since.
    before_kill = set(receiver.ids())
    assert 5 <= len(before_kill) < 60
    receiver.answer = lambda event: 200
    assert finished(workers(lease=lease))["failed"] == 0
    delivered = Counter(receiver.ids())
    assert set(delivered) == set(ids)  # every event arrived
    repeated = {message_id for message_id, count in delivered.items() if count > 1}
    # The deliveries made before the kill were not recorded: they were repeated, same ids.
    assert repeated and repeated <= before_kill
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage)).all()
        assert all(row.delivered_at is not None for row in rows)
