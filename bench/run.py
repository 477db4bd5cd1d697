"""Load benchmark: a realistic volume in a fresh database, waitress, wrk, ratios to « hello ».

    .venv/bin/python bench/run.py                 # 2,000 accounts, 6,000 addresses, 50,000 trips
    .venv/bin/python bench/run.py --scale 0.01    # 100 times fewer rows of every kind
    .venv/bin/python bench/run.py --compare-scale 0.01   # both, and how far their ratios differ

Steps: build a fresh database from the Alembic migrations (SQLite in a temporary directory,
or `--database-url`), bulk-load the volume, serve `bench.wsgi:app` with waitress in a
subprocess on a free loopback port, log the benchmark account in to get its session
cookie, then run `wrk --latency` for a fixed duration against each page and print
requests per second, p50 and p99 beside the bare `/bench-hello` route of the same process
(and `/bench-plancher`, the empty logged-in page: see bench/wsgi.py).

Not a test: the goals of issue 3 are printed next to each ratio, nothing fails on them.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import holidays  # noqa: E402
import sqlalchemy as sa  # noqa: E402

FULL_VOLUME = {"accounts": 2_000, "addresses": 6_000, "trips": 50_000}
BENCH_EMAIL = "bench@example.fr"
BENCH_PASSWORD = "Banc-d-essai-2026"  # noqa: S105 - a throwaway account in a throwaway database
HELLO = "/bench-hello"
# One browser for the whole run: Flask-Login's session protection ties the session to the
# user agent, and a different one (urllib's at login, wrk's afterwards) would mark the
# session non-fresh and rewrite its cookie on every measured request.
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) cartable-bench"
# Goals of issue 3, as a fraction of the « hello » route's requests per second.
GOALS = {"home": 0.50, "login": 0.40, "calendar": 0.25, "day": 0.25}
WRK_ABSENT = (
    "wrk est introuvable : installez-le (Debian : apt-get install -y wrk) puis relancez. "
    "wrk is missing: install it (Debian: apt-get install -y wrk) and run again."
)


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


def bookable_day(today: date) -> date:
    """The first day at least three days ahead that is neither a Sunday nor a holiday."""
    french = holidays.country_holidays("FR", years=[today.year, today.year + 1])
    day = today + timedelta(days=3)
    while day.weekday() == 6 or day in french:
        day += timedelta(days=1)
    return day


def load_volume(url: str, volume: Volume, today: date) -> dict:
    """Migrate a fresh database and bulk-load the volume; returns what the run needs."""
    import flask_migrate

    from app import create_app
    from app.auth.passwords import hash_password
    from app.auth.rules import fold_name
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
            is_bench = n == 0
            number = f"BE{n:06d}"
            parent = member(number, "adherent", "Camille", f"BANC{n}", 40)
            children = [member(number, "enfant", "Léa", f"BANC{n}", 12)]
            if is_bench or n % 2:
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
            first, last = (-2, 28) if is_bench else guarantee_days
            for kind in ["conduite_ecole", "transport_examens"][: 2 if is_bench or n % 3 else 1]:
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
                    "email": BENCH_EMAIL if is_bench else f"parent{n}@example.fr",
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
                if is_bench:  # around this month, where its calendar and day pages look
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


def prepare_database(url: str | None, drop_existing: bool, workdir: Path) -> str:
    """A fresh database: a new SQLite file, or an empty database given by URL."""
    if url is None:
        return f"sqlite:///{workdir / 'cartable-bench.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        existing = sa.inspect(connection).get_table_names()
        if existing and not drop_existing:
            engine.dispose()
            sys.exit(
                f"{url} already has tables ({len(existing)}): pass --drop-existing to empty it "
                "first (everything in it is lost)."
            )
        if existing and connection.dialect.name == "postgresql":
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        elif existing:
            metadata = sa.MetaData()
            metadata.reflect(connection)
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            metadata.drop_all(connection)
    engine.dispose()
    return url


# --- Server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(url: str, port: int, threads: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "CARTABLE_ENV": "development",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("MAIL_SERVER", None)
    command = [
        sys.executable,
        "-m",
        "waitress",
        "--listen",
        f"127.0.0.1:{port}",
        f"--threads={threads}",
        "--ident=cartable-bench",
        "bench.wsgi:app",
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
    server.terminate()
    sys.exit(f"waitress did not answer within 60 s; see {log}")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def login_cookie(base: str) -> str:
    """Log the benchmark account in as a browser would; returns its `Cookie` header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(base + "/connexion", timeout=10).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if not token:
        sys.exit("no CSRF token on /connexion")
    body = urllib.parse.urlencode(
        {"csrf_token": token.group(1), "email": BENCH_EMAIL, "password": BENCH_PASSWORD}
    ).encode()
    try:
        opener.open(base + "/connexion", data=body, timeout=30)
        sys.exit("login did not redirect: the benchmark account could not log in")
    except urllib.error.HTTPError as answer:
        if answer.code not in (302, 303):
            sys.exit(f"login answered {answer.code}")
        landing = urllib.parse.urljoin(base, answer.headers["Location"])
    # Follow the redirect as a browser does: the first page after login stores the new
    # session's CSRF secret, and the browser keeps the updated cookie from then on. wrk sends
    # a fixed cookie, so without this step every measured request would rewrite the session.
    opener.open(landing, timeout=30).read()
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def status_of(url: str, cookie: str | None) -> int:
    opener = urllib.request.build_opener(_NoRedirect)
    headers = {"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {})}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with opener.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as answer:
        return answer.code


# --- wrk ----------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


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


def run_wrk(wrk: str, url: str, cookie: str | None, args) -> Result:
    command = [
        wrk,
        f"--threads={args.wrk_threads}",
        f"--connections={args.connections}",
        f"--duration={args.duration}s",
        "--timeout=10s",
        "--latency",
        "--header",
        f"User-Agent: {USER_AGENT}",
    ]
    if cookie:
        command += ["--header", f"Cookie: {cookie}"]
    # Bounded: wrk stops after --duration; the margin covers start-up and the report.
    done = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=args.duration + 30, check=True
    )
    return parse_wrk(done.stdout)


# --- Main ---------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the full volume (default 1)"
    )
    parser.add_argument(
        "--duration", type=int, default=10, help="seconds of load per page (default 10)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="rounds over the pages, best kept (default 1)"
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads (default 4)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="database to fill (default: a new SQLite file; env BENCH_DATABASE_URL)",
    )
    parser.add_argument(
        "--drop-existing",
        action="store_true",
        help="empty --database-url first when it already has tables",
    )
    parser.add_argument(
        "--compare-scale",
        type=float,
        help="then measure this fraction of the volume too and compare (e.g. 0.01)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print(WRK_ABSENT, file=sys.stderr)
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
    if args.compare_scale is not None and args.database_url and not args.drop_existing:
        print(
            "--compare-scale refills the database: with --database-url, pass --drop-existing",
            file=sys.stderr,
        )
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="cartable-bench-"))
    try:
        first = measure(Volume.scaled(args.scale), args, wrk, workdir / "1")
        if args.compare_scale is not None:
            second = measure(Volume.scaled(args.compare_scale), args, wrk, workdir / "2")
            print_comparison(first, second)
    finally:
        if args.keep:
            print(f"Répertoire de travail conservé : {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


@dataclass
class Run:
    volume: Volume
    pages: list[tuple[str, str, bool]]
    results: dict[str, Result]


def measure(volume: Volume, args, wrk: str, workdir: Path) -> Run:
    """Fill a fresh database with `volume`, serve it, measure every page, print the table.

    `workdir` (created here) holds the SQLite file and waitress's log of this run.
    """
    from app.clock import today as paris_today

    today = paris_today()
    day = bookable_day(today)
    workdir.mkdir()
    # With --compare-scale and a URL, --drop-existing (required) lets the second volume in.
    url = prepare_database(args.database_url, args.drop_existing, workdir)
    print(f"Base : {url.split('@')[-1]}")
    started = time.monotonic()
    counts = load_volume(url, volume, today)
    print(
        f"Chargement : {counts['accounts']} comptes, {counts['members']} personnes, "
        f"{counts['addresses']} adresses, {counts['trips']} trajets, "
        f"{counts['faq_entries']} questions de FAQ en {time.monotonic() - started:.1f} s"
    )

    port = free_port()
    server = start_server(url, port, args.threads, workdir / "waitress.log")
    base = f"http://127.0.0.1:{port}"
    pages = [
        ("hello", HELLO, False),
        ("floor", "/bench-plancher", True),
        ("home", "/", False),
        ("login", "/connexion", False),
        ("calendar", "/trajets", True),
        ("day", f"/trajets/{day.isoformat()}", True),
        ("faq", "/faq", False),
        ("faq-search", "/faq?q=mot+de+passe+oublie", False),
    ]
    results: dict[str, Result] = {}
    notes: list[str] = []
    try:
        cookie = login_cookie(base)
        measured = []
        for name, path, logged_in in pages:
            page_cookie = cookie if logged_in else None
            status = status_of(base + path, page_cookie)
            if status != 200:
                notes.append(f"{path} ignorée : la page répond {status} (absente ou en erreur).")
                continue
            for _ in range(20):  # warm the templates and the connection pool
                status_of(base + path, page_cookie)
            measured.append((name, path, page_cookie))
        # Pages take turns round after round; each keeps its best round, the one least
        # disturbed by whatever else the machine was doing.
        for round_number in range(1, args.rounds + 1):
            for name, path, page_cookie in measured:
                print(f"  tour {round_number} : wrk {args.duration} s sur {path} …", flush=True)
                result = run_wrk(wrk, base + path, page_cookie, args)
                best = results.get(name)
                if best is None or result.requests_per_second > best.requests_per_second:
                    results[name] = result
    finally:
        stop_server(server)

    print_table(pages, results, args, volume)
    for note in notes:
        print("Note :", note)
    return Run(volume, pages, results)


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


def print_table(pages, results: dict[str, Result], args, volume: Volume) -> None:
    print()
    print(
        f"{volume.accounts} comptes, {volume.addresses} adresses, {volume.trips} trajets ; "
        f"waitress {args.threads} threads, wrk {args.wrk_threads} threads × "
        f"{args.connections} connexions, {args.duration} s par page × {args.rounds} tour(s), "
        f"{os.cpu_count()} CPU"
    )
    header = f"{'page':<38} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'objectif':>9}"
    print(header)
    print("-" * len(header))
    hello = results.get("hello")
    for name, path, _ in pages:
        result = results.get(name)
        if result is None:
            print(f"{name + ' ' + path:<38} {'—':>9}")
            continue
        ratio = result.requests_per_second / hello.requests_per_second if hello else 0
        goal = GOALS.get(name)
        verdict = "" if goal is None else ("atteint" if ratio >= goal else "manqué")
        goal_text = f"{goal:.2f}" if goal is not None else ""
        errors = f"  ({result.errors} erreurs)" if result.errors else ""
        print(
            f"{name + ' ' + path:<38} {result.requests_per_second:>9.0f} "
            f"{result.p50_ms:>8.2f} {result.p99_ms:>8.2f} {ratio:>6.2f} {goal_text:>9} "
            f"{verdict}{errors}"
        )


if __name__ == "__main__":
    sys.exit(main())
