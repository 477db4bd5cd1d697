"""`deploy/drill`: the production stack on loopback under a load of families, one fault at
a time, and after each what the database and the receivers hold. Ends with « 0 perdu »."""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from deploy.drilling import checks
from deploy.drilling.load import Load, bookable_days
from deploy.drilling.receivers import Mailbox, WebhookReceiver
from deploy.drilling.seed import seed
from deploy.drilling.stack import (
    PYTHON_BIN,
    REPOSITORY,
    Nginx,
    Postgres,
    Redis,
    WebProcess,
    WorkerProcess,
    app_environment,
    http_status,
    wait_until,
)


@dataclass(frozen=True)
class Timing:
    """How long each part of the drill lasts, in seconds."""

    warmup: float
    kill_after: float  # into each phase, before its fault
    web_phase: float
    postgres_down: float
    postgres_phase: float
    redis_down: float
    redis_phase: float
    settle: float
    think: float
    registration_every: float
    # The trip flow (issue 11): SMTP server and webhook receiver down, worker killed.
    receiver_down: float = 120
    flow_phase: float = 130
    delivered_within: float = 300  # after the load, for the worker's retries to land


FULL = Timing(
    warmup=20,
    kill_after=5,
    web_phase=30,
    postgres_down=3,
    postgres_phase=30,
    redis_down=30,
    redis_phase=45,
    settle=10,
    think=5.0,
    registration_every=20,
)
# A few seconds per fault (CI); the worker's first retry comes a minute after a failure.
SHORT = Timing(
    warmup=5,
    kill_after=1,
    web_phase=8,
    postgres_down=2,
    postgres_phase=8,
    redis_down=3,
    redis_phase=6,
    settle=5,
    think=3.0,
    registration_every=3,
    receiver_down=3,
    flow_phase=6,
    delivered_within=150,
)


@dataclass
class Phase:
    name: str  # in the table
    answers: checks.Answers | None = None
    holdings: checks.Holdings | None = None
    measures: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Drill:
    def __init__(self, workdir: Path, families: int, timing: Timing, say: Callable) -> None:
        self.workdir = workdir
        self.families = families
        self.timing = timing
        self.say = say
        self.postgres = Postgres(workdir)
        self.redis = Redis(workdir)
        self.mailbox = Mailbox()
        self.receiver = WebhookReceiver()
        self.worker: WorkerProcess | None = None  # when the portal has its outbox
        self.webs: list[WebProcess] = []
        self.nginx: Nginx | None = None
        self.engine: sa.Engine | None = None
        self.load: Load | None = None
        self.phases: list[Phase] = []

    # --- The stack ---

    def start(self) -> None:
        self.say("PostgreSQL, Redis, SMTP…")
        self.postgres.create()
        self.redis.start()
        self.mailbox.start()
        environment = app_environment(
            database_url=self.postgres.url,
            redis_url=self.redis.url,
            workdir=self.workdir,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=self.mailbox.port,
            # A claimed message whose worker died is taken again after this long.
            OUTBOX_LEASE_SECONDS=15,
        )
        self.say("Migrations (flask db upgrade)…")
        subprocess.run(
            [str(PYTHON_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
            cwd=REPOSITORY, env=environment, check=True, capture_output=True,
        )  # fmt: skip
        self.engine = sa.create_engine(self.postgres.url, pool_pre_ping=True)
        self.say(f"{self.families} familles…")
        from app import create_app
        from app.clock import today
        from config import Config

        seeding = create_app(Config, SQLALCHEMY_DATABASE_URI=self.postgres.url, TESTING=True)
        families, newcomers = seed(seeding, self.families, 12, today())
        with seeding.app_context():
            from app.extensions import db

            db.engine.dispose()
        if checks.has_outbox(self.engine):
            self._start_flow(environment)
        self.say("Deux processus waitress, nginx…")
        self.webs = [WebProcess(self.workdir, f"web-{n}", environment) for n in (1, 2)]
        for web in self.webs:
            web.start(wait=False)
        for web in self.webs:
            web.wait_ready()
        self.nginx = Nginx(self.workdir, [web.port for web in self.webs])
        self.nginx.start()
        self.load = Load(
            self.nginx.url,
            families,
            newcomers,
            bookable_days(today(), 20),
            self.timing.think,
            self.timing.registration_every,
        )

    def _start_flow(self, environment: dict) -> None:
        """The worker, and the insurer's trip events sent to our webhook receiver."""
        from app.outbox.channels import new_webhook_secret

        self.say("Worker, récepteur des événements…")
        self.receiver.start()
        with self.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "UPDATE insurers SET flow_channel = 'webhook', flow_target = :url, "
                    "flow_secret = :secret"
                ),
                {"url": self.receiver.url, "secret": new_webhook_secret()},
            )
        self.worker = WorkerProcess(self.workdir, environment)
        self.worker.start()

    def stop(self) -> None:
        """Everything started, stopped, whatever state it is in."""
        if self.load is not None:
            self.load.stop()
        parts = [self.nginx, *self.webs, self.worker, self.receiver, self.mailbox, self.redis]
        stops = [part.stop for part in parts if part is not None]
        if self.engine is not None:
            stops.append(self.engine.dispose)
        stops.append(lambda: self.postgres.stop(check=False))
        for stop in stops:
            with contextlib.suppress(Exception):
                stop()

    # --- Phases ---

    def _phase(self, name: str) -> Phase:
        phase = Phase(name)
        self.phases.append(phase)
        self.load.record.phase = name
        self.say(f"— {name}")
        return phase

    def _ready_through_nginx(self) -> bool:
        return http_status(self.nginx.url + "/sante/pret") == 200

    def _close(self, phase: Phase) -> None:
        phase.answers = checks.answers(self.load.record, phase.name)
        phase.holdings = checks.holdings(self.engine, self.load.record, None)
        phase.problems += phase.holdings.problems
        if phase.answers.statuses:
            seen = ", ".join(
                f"{n}×{code or 'sans réponse'}" for code, n in phase.answers.statuses.items()
            )
            phase.measures.append(f"échecs : {seen}")
        if phase.answers.unclear:
            phase.problems.append(f"{phase.answers.unclear} erreur(s) sans page claire")

    def log_in(self) -> None:
        """The families log in (each password checked with production's argon2 cost)."""
        phase = Phase(self.load.record.phase)
        self.phases.append(phase)
        self.say(f"— {phase.name}")
        started = time.monotonic()
        self.load.start()
        wait_until(self.load.all_logged_in, 300, "families' logins", interval=0.5)
        phase.measures.append(f"{self.families} familles en {time.monotonic() - started:.0f} s")
        self._close(phase)
        if phase.answers.failed_gets or phase.answers.failed_posts:
            phase.problems.append("des erreurs sans panne")

    def quiet(self) -> None:
        phase = self._phase("aucune panne")
        time.sleep(self.timing.warmup)
        self._close(phase)
        if phase.answers.failed_gets or phase.answers.failed_posts:
            phase.problems.append("des erreurs sans panne")

    def kill_web(self) -> None:
        phase = self._phase("waitress tué (SIGKILL) puis relancé")
        time.sleep(self.timing.kill_after)
        web = self.webs[0]
        web.kill()
        killed_at = time.monotonic()
        web.start(wait=False)  # as systemd does (Restart=always)
        web.wait_ready()
        phase.measures.append(f"relancé en {time.monotonic() - killed_at:.1f} s")
        time.sleep(max(0.0, self.timing.web_phase - (time.monotonic() - killed_at)))
        self._close(phase)
        answers = phase.answers
        if answers.failed_gets:
            phase.problems.append(f"{answers.failed_gets} GET en échec")
        # At most 1 % of the POSTs, in whole requests: a short drill sends fewer than 100.
        if answers.failed_posts > math.ceil(answers.posts * 0.01):
            phase.problems.append(f"{answers.failed_post_share:.1%} de POST en échec (> 1 %)")

    def restart_postgres(self) -> None:
        phase = self._phase("PostgreSQL redémarré")
        time.sleep(self.timing.kill_after)
        self.postgres.stop()
        time.sleep(self.timing.postgres_down)
        ready_while_down = http_status(self.nginx.url + "/sante/pret")
        self.postgres.start()  # returns once PostgreSQL accepts connections
        started = time.monotonic()
        try:
            wait_until(self._all_ready, 30, "portal after PostgreSQL", interval=0.05)
            back = time.monotonic() - started
        except TimeoutError:
            back = float("inf")
        phase.measures.append(f"/sante/pret pendant l'arrêt : {ready_while_down}")
        phase.measures.append(f"de nouveau prêt en {back:.1f} s")
        if back > 5:
            phase.problems.append("pas prêt dans les 5 s après le redémarrage")
        if ready_while_down != 503:
            phase.problems.append(f"/sante/pret répond {ready_while_down} sans base")
        time.sleep(max(0.0, self.timing.postgres_phase - back - self.timing.postgres_down))
        self._close(phase)
        with self.load.record.lock:
            failures = [s for s in self.load.record.sent if s.phase == phase.name and s.failed]
        if any(item.status != 503 for item in failures):
            phase.problems.append("des erreurs autres que la page 503")
        after = [item for item in failures if item.at > started]
        phase.measures.append(f"échecs après le redémarrage : {len(after)}")
        late = [item for item in after if item.at > started + 5]
        if late:
            phase.problems.append(f"{len(late)} erreur(s) plus de 5 s après le redémarrage")

    def _all_ready(self) -> bool:
        """Every process, and nginx, answer /sante/pret with 200."""
        urls = [f"http://127.0.0.1:{web.port}" for web in self.webs] + [self.nginx.url]
        return all(http_status(url + "/sante/pret") == 200 for url in urls)

    def stop_redis(self) -> None:
        phase = self._phase(f"Redis arrêté {self.timing.redis_down:.0f} s")
        time.sleep(self.timing.kill_after)
        self.redis.stop()
        time.sleep(self.timing.redis_down)
        self.redis.start()
        time.sleep(max(0.0, self.timing.redis_phase - self.timing.redis_down))
        self._close(phase)
        if phase.answers.failed_gets or phase.answers.failed_posts:
            phase.problems.append("des pages en échec sans Redis")

    def smtp_down(self) -> None:
        phase = self._phase(f"serveur SMTP arrêté {self.timing.receiver_down:.0f} s")
        time.sleep(self.timing.kill_after)
        self.mailbox.stop()
        time.sleep(self.timing.receiver_down)
        self.mailbox.start()
        time.sleep(max(0.0, self.timing.flow_phase - self.timing.receiver_down))
        self._close(phase)
        self._no_failure(phase, "sans SMTP")

    def webhook_down(self) -> None:
        phase = self._phase(f"récepteur des événements arrêté {self.timing.receiver_down:.0f} s")
        time.sleep(self.timing.kill_after)
        self.receiver.stop()
        time.sleep(self.timing.receiver_down)
        self.receiver.start()
        time.sleep(max(0.0, self.timing.flow_phase - self.timing.receiver_down))
        self._close(phase)
        self._no_failure(phase, "sans récepteur")

    def kill_worker(self) -> None:
        phase = self._phase("worker tué (SIGKILL) puis relancé")
        # Mid-batch: once it holds claimed messages (leased), not yet all delivered.
        deadline = time.monotonic() + self.timing.flow_phase
        while time.monotonic() < deadline and not self._worker_busy():
            time.sleep(0.05)
        phase.measures.append("tué en plein lot" if self._worker_busy() else "tué au repos")
        self.worker.kill()
        time.sleep(1)  # systemd's RestartSec
        self.worker.start()
        time.sleep(self.timing.flow_phase / 2)
        self._close(phase)
        self._no_failure(phase, "pendant la relance du worker")

    def _worker_busy(self) -> bool:
        with self.engine.connect() as connection:
            return bool(
                connection.execute(
                    sa.text(
                        "SELECT count(*) FROM outbox WHERE locked_until IS NOT NULL "
                        "AND delivered_at IS NULL"
                    )
                ).scalar_one()
            )

    def _no_failure(self, phase: Phase, when: str) -> None:
        if phase.answers.failed_gets or phase.answers.failed_posts:
            phase.problems.append(f"des pages en échec {when}")

    def finish(self, inject_loss: bool) -> Phase:
        """Stop the load, let the receivers catch up, check everything the load was told."""
        self.load.stop()
        phase = Phase("au total")
        self.phases.append(phase)
        if inject_loss:
            self._lose_one_trip()
        settle = self.timing.delivered_within if self.worker else self.timing.settle
        deadline = time.monotonic() + settle
        acknowledged = {r.email for r in self.load.record.registrations if r.acknowledged}
        while time.monotonic() < deadline and not (
            acknowledged <= self.mailbox.addresses()
            and (self.worker is None or checks.pending_messages(self.engine) == 0)
        ):
            time.sleep(0.5)
        phase.answers = checks.Answers()
        for other in self.phases[:-1]:
            for name in ("gets", "posts", "failed_gets", "failed_posts", "unclear"):
                setattr(
                    phase.answers,
                    name,
                    getattr(phase.answers, name) + getattr(other.answers, name),
                )
        phase.holdings = checks.holdings(self.engine, self.load.record, self.mailbox.addresses())
        phase.problems = phase.holdings.problems
        if self.worker is not None:
            flow = checks.deliveries(self.engine, self.receiver.ids())
            phase.problems += flow.problems
            phase.measures.append(
                f"{flow.received}/{flow.events} événements reçus ({flow.repeats} répétés), "
                f"{flow.pending} message(s) encore dus"
            )
            if flow.pending:
                phase.problems.append(f"{flow.pending} message(s) non livré(s)")
        registered = sum(1 for r in self.load.record.registrations if r.acknowledged)
        phase.measures.append(
            f"{phase.holdings.acknowledged} trajets confirmés, {registered} inscriptions"
        )
        return phase

    def _lose_one_trip(self) -> None:
        """What the drill must catch: an acknowledged trip that is not in the database."""
        booking = next(b for b in reversed(self.load.record.bookings) if b.acknowledged)
        with self.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "DELETE FROM trips WHERE child_id = :child AND trip_date = :day "
                    "AND trip_time = :hour"
                ),
                {"child": booking.child_id, "day": booking.day, "hour": booking.hour},
            )
        self.say("(perte injectée : un trajet confirmé effacé de la base)")


def table(phases: list[Phase]) -> str:
    headers = ("Panne", "Requêtes", "Erreurs GET", "Erreurs POST", "Vérifié après", "Résultat")
    rows = []
    for phase in phases:
        a, h = phase.answers, phase.holdings
        held = f"{len(h.lost)} perdu, {len(h.doubled)} en double, {len(h.half_written)} incomplet"
        if h.mails_missing or phase.name == "au total":
            held += f", {len(h.mails_missing)} e-mail manquant"
        rows.append(
            (
                phase.name,
                f"{a.gets} GET, {a.posts} POST",
                str(a.failed_gets),
                f"{a.failed_posts} ({a.failed_post_share:.1%})",
                "; ".join([held, *phase.measures]),
                "OK" if not phase.problems else "ÉCHEC : " + ", ".join(phase.problems),
            )
        )
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    lines = [" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


class DrillInterrupted(Exception):
    pass


def _interrupt(signum, frame):
    raise DrillInterrupted("temps écoulé" if signum == signal.SIGALRM else "arrêt demandé")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="deploy/drill", description=__doc__)
    parser.add_argument("--court", action="store_true", help="a few seconds per fault (CI)")
    parser.add_argument("--familles", type=int, help="families of the load (50; 12 with --court)")
    parser.add_argument(
        "--perte-injectee",
        action="store_true",
        help="erase one confirmed trip before the checks: the drill must report it",
    )
    parser.add_argument("--garder", action="store_true", help="keep the logs' folder")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    timing = SHORT if args.court else FULL
    families = args.familles or (12 if args.court else 50)
    budget = 900 if args.court else 1800  # seconds, whatever happens

    def say(text: str) -> None:
        print(text, flush=True)

    signal.signal(signal.SIGALRM, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.alarm(budget)
    workdir = Path(tempfile.mkdtemp(prefix="cartable-exercice-"))
    drill = Drill(workdir, families, timing, say)
    try:
        drill.start()
        drill.log_in()
        drill.quiet()
        drill.kill_web()
        drill.restart_postgres()
        drill.stop_redis()
        if drill.worker is not None:
            drill.smtp_down()
            drill.webhook_down()
            drill.kill_worker()
        else:
            say("(pas de worker dans cette version : pannes SMTP, récepteur et worker omises)")
        total = drill.finish(args.perte_injectee)
    except DrillInterrupted as reason:
        say(f"Exercice interrompu ({reason}, budget {budget} s).")
        return 2
    finally:
        signal.alarm(0)
        drill.stop()
        if args.garder:
            say(f"Journaux : {workdir}")
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    say("")
    say(table(drill.phases))
    say("")
    lost = len(total.holdings.lost) + len(total.holdings.accounts_lost)
    failed = [phase for phase in drill.phases if phase.problems]
    say(f"{lost} perdu" + ("" if not failed else f" ; {len(failed)} ligne(s) en échec"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
