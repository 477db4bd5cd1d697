"""Load benchmark as the site is used: many families in turn, production settings, PostgreSQL.

    .venv/bin/python bench/run.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
    .venv/bin/python bench/run.py ... --scale 0.01        # 100 times fewer rows of every kind
    .venv/bin/python bench/run.py ... --profile out.prof  # where the time goes, under load

Steps: empty the given PostgreSQL database and build it from the Alembic migrations,
bulk-load the volume (the first `--families` accounts are families with children,
addresses and trips of their own around this month), serve `bench.wsgi:application` in
production configuration (`CARTABLE_ENV=production`, rate limits in Redis) with waitress
pinned to CPU 0, log every family in as a browser does, then for each page run
`wrk --latency` pinned to CPU 1 (one thread, 8 connections) with a Lua script that sends
each request as the next family (its cookie) and, for the calendar and the day page, the
next month or day. It prints for each page requests per second, p50, p99, the ratio to a
bare Flask hello served by the same waitress process (`/bench-hello`, none of the portal's
hooks; the portal's own empty page is measured too, as `app-hello`), the SQL statements
the page runs, the server's CPU time per request (steadier than requests per second when
the machine is shared) and the garbage collector's longest pause during the run.

Not a test: the goals of issue 10 are printed next to the figures, nothing fails on them.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from datetime import time as clock_time
from email.message import Message
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import holidays  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from waitress.adjustments import Adjustments  # noqa: E402

from deploy.drilling.stack import unit_command  # noqa: E402

FULL_VOLUME = {"accounts": 2_000, "addresses": 6_000, "trips": 50_000}
BENCH_PASSWORD = "Banc-d-essai-2026"  # noqa: S105 - throwaway accounts in a throwaway database
HELLO = "/bench-hello"  # a bare Flask application (bench/wsgi.py): the ratios' base
APP_HELLO = "/bench-app-hello"  # the portal's empty page: its hooks and nothing else
BASELINES = {"hello", "app-hello"}  # measured for comparison, no goal of their own
# A browser's user agent, the same for the whole run: Flask-Login's session protection ties
# the session to it, and another one would make it rewrite the session on every request.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
# Goals of issue 10: every page at least 0.10 of « hello », home and FAQ at least 0.30,
# p99 under 50 ms at 8 connections.
GOALS = {"home": 0.30, "faq": 0.30}
FLOOR_GOAL = 0.10
P99_GOAL_MS = 50.0
WRK_ABSENT = (
    "wrk est introuvable : installez-le (Debian : apt-get install -y wrk) puis relancez. "
    "wrk is missing: install it (Debian: apt-get install -y wrk) and run again."
)


def family_email(n: int) -> str:
    return f"famille{n}@example.fr"


# --- Volume -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Volume:
    accounts: int
    addresses: int
    trips: int

    @classmethod
    def scaled(cls, scale: float) -> Volume:
        return cls(**{k: max(1, round(v * scale)) for k, v in FULL_VOLUME.items()})


def spread(total: int, buckets: int, index: int) -> int:
    """How many of `total` items bucket `index` gets when spread evenly over `buckets`."""
    return total // buckets + (1 if index < total % buckets else 0)


def bookable_days(today: date, count: int) -> list[date]:
    """The first `count` days at least three days ahead that are neither Sundays nor
    holidays."""
    french = holidays.country_holidays("FR", years=[today.year, today.year + 1])
    days, day = [], today + timedelta(days=3)
    while len(days) < count:
        if day.weekday() != 6 and day not in french:
            days.append(day)
        day += timedelta(days=1)
    return days


def load_volume(url: str, volume: Volume, today: date, families: int) -> dict:
    """Migrate a fresh database and bulk-load the volume; returns what the run needs.

    The first `families` accounts log in during the run: their guarantees cover this month
    and their trips fall around it, where their calendar and day pages look.
    """
    import flask_migrate

    from app import create_app
    from app.auth.passwords import hash_password
    from app.clock import utcnow
    from app.extensions import db
    from app.faq import content as faq_content
    from app.models import (
        Account,
        Address,
        AssistanceFile,
        Guarantee,
        Insurer,
        Member,
        Offer,
        Trip,
    )
    from app.text import fold_name

    app = create_app(None, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        flask_migrate.upgrade()
        password_hash = hash_password(BENCH_PASSWORD)  # once: hashing is slow on purpose
        now = utcnow()  # naive UTC, like every stored timestamp
        rows: dict[type, list[dict]] = {
            model: []
            for model in (
                Insurer,
                Member,
                Offer,
                AssistanceFile,
                Guarantee,
                Account,
                Address,
                Trip,
            )
        }
        rows[Insurer].append(
            {"id": 1, "slug": "bench", "name": "Mutuelle Banc d'Essai", "phone": "01 23 45 67 89"}
        )
        ids = {"member": 0, "address": 0, "trip": 0, "guarantee": 0}
        kinds = ["domicile", "ecole_primaire", "college", "lycee", "autre"]
        guarantee_days = (-60, 60)

        def member(number: str, quality: str, first: str, last: str, age: int) -> int:
            ids["member"] += 1
            rows[Member].append(
                {
                    "id": ids["member"],
                    "insurer_id": 1,
                    "member_number": number,
                    "quality": quality,
                    "first_name": first,
                    "last_name": last,
                    "first_name_key": fold_name(first),
                    "last_name_key": fold_name(last),
                    "birth_date": today.replace(year=today.year - age, day=1),
                }
            )
            return ids["member"]

        for n in range(volume.accounts):
            is_family = n < families
            number = f"BE{n:06d}"
            parent = member(number, "adherent", "Camille", f"BANC{n}", 40)
            children = [member(number, "enfant", "Léa", f"BANC{n}", 12)]
            if is_family or n % 2:
                children.append(member(number, "enfant", "Tom", f"BANC{n}", 9))
            rows[Offer].append(
                {
                    "id": n + 1,
                    "member_id": parent,
                    "starts_on": today - timedelta(days=30),
                    "ends_on": today + timedelta(days=335),
                }
            )
            rows[AssistanceFile].append(
                {"id": n + 1, "insurer_id": 1, "member_number": number, "number": f"DA-{n:06d}"}
            )
            first, last = (-2, 28) if is_family else guarantee_days
            for kind in ["conduite_ecole", "transport_examens"][: 2 if is_family or n % 3 else 1]:
                ids["guarantee"] += 1
                rows[Guarantee].append(
                    {
                        "id": ids["guarantee"],
                        "assistance_file_id": n + 1,
                        "kind": kind,
                        "starts_on": today + timedelta(days=first),
                        "ends_on": today + timedelta(days=last),
                    }
                )
            rows[Account].append(
                {
                    "id": n + 1,
                    "member_id": parent,
                    "email": family_email(n) if is_family else f"parent{n}@example.fr",
                    "phone": "06 12 34 56 78",
                    "password_hash": password_hash,
                    "created_at": now,
                    "confirmed_at": now,
                    "password_changed_at": now,
                    "confirm_nonce": 0,
                    "reset_nonce": 0,
                }
            )
            addresses = []
            for k in range(max(2, spread(volume.addresses, volume.accounts, n))):
                ids["address"] += 1
                addresses.append(ids["address"])
                label = "Maison" if k == 0 else f"Établissement {k}"
                rows[Address].append(
                    {
                        "id": ids["address"],
                        "account_id": n + 1,
                        "label": label,
                        "label_key": fold_name(label),
                        "kind": kinds[min(k, 4)],
                        "street": f"{k + 1} rue des Écoles",
                        "complement": None,
                        "postal_code": "69001",
                        "city": "Lyon",
                        "created_at": now,
                        "archived_at": None,
                    }
                )
            for k in range(spread(volume.trips, volume.accounts, n)):
                ids["trip"] += 1
                child = children[k % len(children)]
                if is_family:  # around this month, where its calendar and day pages look
                    day = today + timedelta(days=k - 10)
                else:  # distinct days over the past year and the coming month
                    day = today + timedelta(days=-330 + (k * 14 + n) % 360)
                outbound = k % 2 == 0
                rows[Trip].append(
                    {
                        "id": ids["trip"],
                        "account_id": n + 1,
                        "child_id": child,
                        "trip_date": day,
                        "trip_time": clock_time(8, 30) if outbound else clock_time(16, 30),
                        "purpose": "ecole",
                        "from_address_id": addresses[0] if outbound else addresses[1],
                        "to_address_id": addresses[1] if outbound else addresses[0],
                        "created_at": now,
                        "updated_at": now,
                        "cancelled_at": now if k % 20 == 19 else None,
                    }
                )

        # The FAQ's own content, loaded as `flask setup` does: /faq and its search are measured.
        faq = faq_content.load(faq_content.read())
        with db.engine.begin() as connection:
            for model, batch in rows.items():
                for start in range(0, len(batch), 5_000):
                    connection.execute(sa.insert(model.__table__), batch[start : start + 5_000])
            if connection.dialect.name == "postgresql":
                # Explicit ids leave the sequences behind: move them past the loaded rows.
                for model in rows:
                    table = model.__tablename__
                    connection.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                            f"(SELECT max(id) FROM {table}))"
                        )
                    )
            connection.exec_driver_sql("ANALYZE")  # fresh statistics, as in production
        counts = {model.__tablename__: len(batch) for model, batch in rows.items()}
        counts["faq_entries"] = faq.total
        db.engine.dispose()
    return counts


def prepare_database(url: str, drop_existing: bool) -> str:
    """An empty PostgreSQL database (the production one's engine), refused when it has
    tables unless `drop_existing`."""
    if not url.startswith("postgresql"):
        sys.exit("--database-url must be a PostgreSQL database, as in production.")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        existing = sa.inspect(connection).get_table_names()
        if existing and not drop_existing:
            engine.dispose()
            sys.exit(
                f"{url} already has tables ({len(existing)}): pass --drop-existing to empty it "
                "first (everything in it is lost)."
            )
        if existing:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


def bench_database(url: str | None, drop_existing: bool, workdir: Path) -> str:
    """The database of a bench script: the given PostgreSQL one emptied as above, or without
    a URL a new SQLite file in `workdir`."""
    if url:
        return prepare_database(url, drop_existing)
    database = workdir / "bench.sqlite"
    database.unlink(missing_ok=True)
    return f"sqlite:///{database}"


# --- Server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pinned(cpu: int) -> list[str]:
    """`taskset -c cpu` when the machine has that CPU and taskset, else nothing."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > cpu:
        return ["taskset", "-c", str(cpu)]
    return []


def start_server(args, port: int, log: Path, profile: Path | None = None) -> subprocess.Popen:
    """waitress on CPU 0 serving bench.wsgi:application in production configuration."""
    env = {
        **os.environ,
        "CARTABLE_ENV": "production",
        "DATABASE_URL": args.database_url,
        "RATELIMIT_STORAGE_URI": args.redis_url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        # Links in e-mails only; the bench speaks plain HTTP on loopback.
        "PUBLIC_URL": "https://cartable.example",
        # Production requires one; the pages measured send no e-mail (the worker does).
        "MAIL_SERVER": "127.0.0.1",
        "PYTHONPATH": str(ROOT),
    }
    if profile is not None:
        env["BENCH_PROFILE"] = str(profile)
    command = [
        *pinned(0),
        sys.executable,
        "-m",
        "waitress",
        "--listen",
        f"127.0.0.1:{port}",
        f"--threads={args.threads}",
        "--ident=cartable-bench",
        "bench.wsgi:application",
    ]
    with log.open("wb") as output:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"waitress stopped at start-up; see {log}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(base + HELLO, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    stop_server(server)
    sys.exit(f"waitress did not answer within 60 s; see {log}")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One family's browser: its cookies (Secure ones included: the bench speaks plain HTTP
    to the server a TLS proxy would face) and its user agent; redirects are not followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener(_NoRedirect)

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def open(self, path: str, data: dict | None = None) -> tuple[int, Message, str]:
        headers = {"User-Agent": USER_AGENT}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers)  # noqa: S310
        try:
            response = self.opener.open(request, timeout=60)
        except urllib.error.HTTPError as answer:
            response = answer
        with response:
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, response.headers, response.read().decode()

    def log_in(self, email: str) -> None:
        """Log in as a person does, then open the landing page and one more: the cookie
        the browser keeps from then on is the settled one."""
        _, _, page = self.open("/connexion")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if not token:
            sys.exit("no CSRF token on /connexion")
        status, headers, _ = self.open(
            "/connexion",
            {"csrf_token": token.group(1), "email": email, "password": BENCH_PASSWORD},
        )
        if status not in (302, 303):
            sys.exit(f"{email} could not log in (answer {status})")
        self.open(urllib.parse.urlsplit(headers["Location"]).path)
        self.open("/trajets")


# --- wrk ----------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu_ms: float = 0.0  # the server's CPU time per request
    gc_longest_ms: float = 0.0  # the garbage collector's longest pause during the run


@dataclass
class Usage:
    """What `/bench-usage` answers: the server's CPU so far, its GC pauses since last asked."""

    cpu_seconds: float
    gc_longest_ms: float
    gc_total_ms: float
    gc_collections: int


def server_usage(base: str) -> Usage:
    with urllib.request.urlopen(base + "/bench-usage", timeout=10) as answer:  # noqa: S310
        return Usage(**json.load(answer))


def _milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> Result:
    """Requests/s, p50 and p99 from `wrk --latency`, plus non-2xx/3xx and socket errors."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _milliseconds(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _milliseconds(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(n) for n in match.groups())
    return Result(rps, p50, p99, requests, errors)


def lua_script(requests: list[tuple[str, str]]) -> str:
    """A wrk script sending each request as the next (path, cookie) of the list, in turn."""

    def quoted(text: str) -> str:
        # Paths and cookies are URL-safe; a long bracket string needs no escaping at all.
        if "]]" in text:
            raise ValueError(text)
        return f"[[{text}]]"

    rows = ",\n".join(f"  {{{quoted(path)}, {quoted(cookie)}}}" for path, cookie in requests)
    return f"""local requests = {{
{rows}
}}
local agent = {quoted(USER_AGENT)}
local next_one = 0
request = function()
  next_one = next_one % #requests + 1
  local path, cookie = requests[next_one][1], requests[next_one][2]
  local headers = {{["User-Agent"] = agent}}
  if cookie ~= "" then headers["Cookie"] = cookie end
  return wrk.format("GET", path, headers)
end
"""


def run_wrk(wrk: str, base: str, requests: list[tuple[str, str]], script: Path, args) -> Result:
    script.write_text(lua_script(requests))
    command = [
        *pinned(1),
        wrk,
        f"--threads={args.wrk_threads}",
        f"--connections={args.connections}",
        f"--duration={args.duration}s",
        "--timeout=10s",
        "--latency",
        f"--script={script}",
        base,
    ]
    before = server_usage(base)
    # Bounded: wrk stops after --duration; the margin covers start-up and the report.
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=args.duration + 30, check=True
    )
    after = server_usage(base)
    result = parse_wrk(done.stdout)
    result.cpu_ms = (after.cpu_seconds - before.cpu_seconds) * 1000 / max(result.requests, 1)
    result.gc_longest_ms = after.gc_longest_ms
    return result


# --- Main ---------------------------------------------------------------------------------


def production_threads() -> int:
    """The waitress threads of production's web unit, read with waitress-serve's own parser
    (waitress's default when the unit does not say): the bench serves as production does."""
    options, _ = Adjustments.parse_args(unit_command("cartable-web@.service", "8001")[1:])
    return int(options.get("threads", Adjustments.threads))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="PostgreSQL database to fill (env BENCH_DATABASE_URL)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="Redis for the rate limits, as in production (env BENCH_REDIS_URL)",
    )
    parser.add_argument(
        "--drop-existing",
        action="store_true",
        help="empty --database-url first when it already has tables",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the full volume (default 1)"
    )
    parser.add_argument(
        "--families", type=int, default=50, help="families logged in and taking turns (50)"
    )
    parser.add_argument(
        "--duration", type=int, default=10, help="seconds of load per page (default 10)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="rounds over the pages, best kept (default 1)"
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--threads",
        type=int,
        default=production_threads(),
        help="waitress threads (default: production's, deploy/systemd/cartable-web@.service)",
    )
    parser.add_argument(
        "--compare-scale",
        type=float,
        help="then measure this fraction of the volume too and compare (e.g. 0.01)",
    )
    parser.add_argument(
        "--pages",
        help="only these pages, comma-separated (e.g. day,account); the hellos always",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="instead of the table: every page in turn under cProfile, statistics to this file",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print(WRK_ABSENT, file=sys.stderr)
        return 2
    if not args.database_url:
        print("--database-url (PostgreSQL) is required", file=sys.stderr)
        return 2
    scales = [args.scale] if args.compare_scale is None else [args.scale, args.compare_scale]
    scales_ok = all(0 < scale <= 10 for scale in scales)
    if not scales_ok or not 1 <= args.duration <= 120 or not 1 <= args.rounds <= 5:
        print(
            "--scale and --compare-scale must be in ]0, 10], --duration in [1, 120] seconds, "
            "--rounds in [1, 5]",
            file=sys.stderr,
        )
        return 2
    if not 1 <= args.families <= Volume.scaled(min(scales)).accounts:
        print("--families must be between 1 and the number of accounts", file=sys.stderr)
        return 2
    if args.compare_scale is not None and not args.drop_existing:
        print("--compare-scale refills the database: pass --drop-existing", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="cartable-bench-"))
    try:
        first = measure(Volume.scaled(args.scale), args, wrk, workdir / "1")
        if args.compare_scale is not None:
            second = measure(Volume.scaled(args.compare_scale), args, wrk, workdir / "2")
            print_comparison(first, second)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


@dataclass
class Run:
    volume: Volume
    pages: list[tuple[str, str, bool]]
    results: dict[str, Result]
    statements: dict[str, int] | None = None


def page_requests(base: str, families: list[Browser], today: date) -> dict[str, list]:
    """For each page, the (path, cookie) requests wrk sends in turn: anonymous pages as a
    new visitor, the others as each family in turn, on the current and next month for the
    calendar and on the next bookable days for the day page."""
    cookies = [family.cookie_header() for family in families]
    following = (today.replace(day=1) + timedelta(days=32)).strftime("%Y-%m")
    paths = {
        "hello": [HELLO],
        "app-hello": [APP_HELLO],
        "home": ["/"],
        "login": ["/connexion"],
        "faq": ["/faq"],
        "account": ["/mon-espace"],
        "calendar": ["/trajets", f"/trajets?mois={following}"],
        "day": [f"/trajets/{day.isoformat()}" for day in bookable_days(today, 5)],
    }
    anonymous = {"hello", "app-hello", "home", "login", "faq"}
    shuffle = random.Random(10).shuffle  # noqa: S311 - an order, not a secret
    requests = {}
    for name, page_paths in paths.items():
        if name in anonymous:
            requests[name] = [(path, "") for path in page_paths]
        else:
            pairs = [(path, cookie) for cookie in cookies for path in page_paths]
            shuffle(pairs)
            requests[name] = pairs
    return requests


def measure(volume: Volume, args, wrk: str, workdir: Path) -> Run:
    """Fill the database with `volume`, serve it, measure every page, print the table."""
    from app.clock import today as paris_today

    today = paris_today()
    workdir.mkdir()
    url = prepare_database(args.database_url, args.drop_existing)
    print(f"Base : {url.split('@')[-1]}")
    started = time.monotonic()
    counts = load_volume(url, volume, today, args.families)
    print(
        f"Chargement : {counts['accounts']} comptes, {counts['members']} personnes, "
        f"{counts['addresses']} adresses, {counts['trips']} trajets, "
        f"{counts['faq_entries']} questions de FAQ en {time.monotonic() - started:.1f} s"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    profile = args.profile.resolve() if args.profile else None
    server = start_server(args, port, workdir / "waitress.log", profile)
    results: dict[str, Result] = {}
    statements: dict[str, int] = {}
    notes: list[str] = []
    try:
        families = [Browser(base) for _ in range(args.families)]
        for n, family in enumerate(families):
            family.log_in(family_email(n))
        print(f"{len(families)} familles connectées")
        requests = page_requests(base, families, today)
        if args.pages:
            wanted = {*BASELINES, *args.pages.split(",")}
            requests = {name: pairs for name, pairs in requests.items() if name in wanted}
        for name, pairs in requests.items():
            statuses, counted = set(), []
            for path, cookie in pairs[:10]:
                visitor = Browser(base)
                if cookie:
                    visitor.cookies = dict(part.split("=", 1) for part in cookie.split("; "))
                for _ in range(3):  # warm the templates and the connection pool
                    status, headers, _ = visitor.open(path)
                statuses.add(status)
                counted.append(int(headers.get("X-Bench-SQL", -1)))
            statements[name] = max(counted)
            if statuses != {200}:
                notes.append(f"{name} : réponses {sorted(statuses)} (attendu 200).")
        if profile is not None:
            mixed = [pair for name, pairs in requests.items() if name != "hello" for pair in pairs]
            random.Random(5).shuffle(mixed)  # noqa: S311 - an order, not a secret
            print(f"  profil : wrk {args.duration} s, toutes les pages tour à tour …", flush=True)
            result = run_wrk(wrk, base, mixed, workdir / "mixed.lua", args)
            print(f"  {result.requests_per_second:.0f} req/s, p99 {result.p99_ms:.1f} ms")
        else:
            for round_number in range(1, args.rounds + 1):
                for name, pairs in requests.items():
                    print(f"  tour {round_number} : wrk {args.duration} s sur {name} …", flush=True)
                    result = run_wrk(wrk, base, pairs, workdir / f"{name}.lua", args)
                    best = results.get(name)
                    if best is None or result.requests_per_second > best.requests_per_second:
                        results[name] = result
    finally:
        stop_server(server)

    pages = [(name, pairs[0][0], bool(pairs[0][1])) for name, pairs in requests.items()]
    if profile is not None:
        print_profile(profile)
    else:
        print_table(pages, results, statements, args, volume)
    for note in notes:
        print("Note :", note)
    return Run(volume, pages, results, statements)


def print_profile(path: Path) -> None:
    if not path.exists():
        print(f"Pas de profil écrit dans {path}")
        return
    stats = pstats.Stats(str(path))
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


# The bound: the same figures with 100 times fewer trips differ by less than this.
SCALE_TOLERANCE = 0.20


def ratio_to_hello(run: Run, name: str) -> float | None:
    hello, page = run.results.get("hello"), run.results.get(name)
    if hello is None or page is None or not hello.requests_per_second:
        return None
    return page.requests_per_second / hello.requests_per_second


def scale_differences(first: Run, second: Run) -> list[tuple[str, float, float, float]]:
    """(page, first ratio, second ratio, relative difference) for the pages both measured.

    Ratios to « hello » of the same run are compared rather than raw requests per second:
    they cancel what the machine was doing during each run.
    """
    rows = []
    for name, _, _ in first.pages:
        if name == "hello":
            continue
        a, b = ratio_to_hello(first, name), ratio_to_hello(second, name)
        if not a or b is None:  # not measured, or no request answered in the first run
            continue
        rows.append((name, a, b, abs(b - a) / a))
    return rows


def print_comparison(first: Run, second: Run) -> None:
    print()
    print(
        f"Comparaison : {first.volume.trips} trajets contre {second.volume.trips} "
        f"(écart toléré {SCALE_TOLERANCE:.0%}, sur les ratios à « hello »)"
    )
    for name, a, b, difference in scale_differences(first, second):
        verdict = "stable" if difference < SCALE_TOLERANCE else "écart trop grand"
        print(f"{name:<12} {a:>6.2f} {b:>6.2f} {difference:>7.1%}  {verdict}")


def _statements(count: int | None) -> str:
    """The page's SQL statements; « — » for the bare hello, whose answers carry no count."""
    return "—" if count is None or count < 0 else str(count)


def print_table(pages, results: dict[str, Result], statements, args, volume: Volume) -> None:
    print()
    print(
        f"{volume.accounts} comptes, {volume.addresses} adresses, {volume.trips} trajets ; "
        f"{args.families} familles tour à tour ; production, PostgreSQL ; waitress "
        f"{args.threads} threads {' '.join(pinned(0)) or '(non épinglé)'}, wrk "
        f"{args.wrk_threads} thread × {args.connections} connexions "
        f"{' '.join(pinned(1)) or '(non épinglé)'}, {args.duration} s par page × "
        f"{args.rounds} tour(s)"
    )
    header = (
        f"{'page':<30} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6} {'SQL':>4} "
        f"{'CPU ms':>6} {'GC ms':>6}  objectifs"
    )
    print(header)
    print("-" * len(header))
    hello = results.get("hello")
    for name, path, _ in pages:
        result = results.get(name)
        if result is None:
            print(f"{name + ' ' + path:<30} {'—':>7}")
            continue
        ratio = result.requests_per_second / hello.requests_per_second if hello else 0
        verdicts = []
        if name not in BASELINES:
            goal = GOALS.get(name, FLOOR_GOAL)
            verdicts.append(f"ratio ≥ {goal:.2f} {'atteint' if ratio >= goal else 'manqué'}")
            p99_ok = result.p99_ms < P99_GOAL_MS
            verdicts.append(f"p99 < {P99_GOAL_MS:.0f} ms {'atteint' if p99_ok else 'manqué'}")
        if result.errors:
            verdicts.append(f"{result.errors} erreurs")
        print(
            f"{name + ' ' + path:<30} {result.requests_per_second:>7.0f} "
            f"{result.p50_ms:>7.2f} {result.p99_ms:>7.2f} {ratio:>6.2f} "
            f"{_statements(statements.get(name)):>4} {result.cpu_ms:>6.2f} "
            f"{result.gc_longest_ms:>6.1f}  "
            f"{' ; '.join(verdicts)}"
        )


if __name__ == "__main__":
    sys.exit(main())
