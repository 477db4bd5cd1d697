"""The benchmark scripts: their arithmetic, and the roster and flow scripts run at a tiny size
(the measured runs themselves are not part of the suite)."""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from bench.run import (
    Result,
    Run,
    Volume,
    bookable_days,
    lua_script,
    page_requests,
    parse_args,
    parse_wrk,
    scale_differences,
)
from deploy.drilling import stack
from deploy.drilling.stack import UNITS

ROOT = Path(__file__).resolve().parents[1]

WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:5000/trajets
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    56.21ms   10.02ms 120.00ms   70.00%
  Latency Distribution
     50%   56.21ms
     75%   60.00ms
     90%   70.00ms
     99%   82.12ms
  710 requests in 5.00s, 9.50MB read
  Non-2xx or 3xx responses: 3
Requests/sec:    142.00
Transfer/sec:      1.90MB
"""


def test_the_bench_serves_with_production_s_waitress_threads(monkeypatch, tmp_path):
    """The bench's waitress runs with the thread count of production's web unit, so that a
    change of one is measured by the other."""
    unit = (UNITS / "cartable-web@.service").read_text(encoding="utf-8")
    assert " --threads 4 " in unit
    assert parse_args(["--database-url", "postgresql+psycopg:///bench"]).threads == 4
    assert parse_args(["--threads", "2"]).threads == 2
    # Read from the unit, in either of waitress's spellings, waitress's default without.
    for written, threads in (("--threads 6", 6), ("--threads=3", 3), ("", 4)):
        (tmp_path / "cartable-web@.service").write_text(
            unit.replace("--threads 4", written), encoding="utf-8"
        )
        monkeypatch.setattr(stack, "UNITS", tmp_path)
        assert parse_args([]).threads == threads


class _Family:
    def __init__(self, n: int) -> None:
        self.n = n

    def cookie_header(self) -> str:
        return f"cartable_session=famille-{self.n}"


def test_each_member_request_comes_from_a_family_in_turn():
    """Every family asks every path of a member page once per turn, in a mixed order; the
    public pages are asked without a cookie; wrk's script sends the list in that order."""
    families = [_Family(n) for n in range(50)]
    today = date(2026, 12, 7)
    requests = page_requests("http://127.0.0.1:1", families, today)
    for name in ("home", "login", "faq"):
        assert {cookie for _, cookie in requests[name]} == {""}, name
    paths = {
        "account": ["/mon-espace"],
        "calendar": ["/trajets", "/trajets?mois=2027-01"],
        "day": [f"/trajets/{day.isoformat()}" for day in bookable_days(today, 5)],
    }
    assert len(paths["day"]) == 5
    for name, expected_paths in paths.items():
        expected = [(path, f.cookie_header()) for path in expected_paths for f in families]
        assert sorted(requests[name]) == sorted(expected), name
    for name in ("calendar", "day"):  # several paths a family: shuffled, not in blocks
        pairs = requests[name]
        changes = sum(1 for a, b in zip(pairs, pairs[1:], strict=False) if a[1] != b[1])
        assert changes > 0.9 * (len(pairs) - 1), name
    script = lua_script(requests["day"])
    rows = [f"{{[[{path}]], [[{cookie}]]}}" for path, cookie in requests["day"]]
    positions = [script.index(row) for row in rows]
    assert positions == sorted(positions)
    assert "next_one % #requests + 1" in script


def test_wrk_report_is_read():
    result = parse_wrk(WRK_OUTPUT)
    assert result == Result(142.0, 56.21, 82.12, 710, 3)


def _run(scale: float, **rates) -> Run:
    pages = [(name, f"/{name}", False) for name in rates]
    results = {name: Result(rate, 1.0, 2.0, 100, 0) for name, rate in rates.items()}
    return Run(Volume.scaled(scale), pages, results)


def test_scales_are_compared_on_their_ratios_to_hello():
    full = _run(1, hello=1000, calendar=150, day=110)
    small = _run(0.01, hello=800, calendar=120, day=110)  # a slower machine, same ratio
    rows = {name: (a, b, diff) for name, a, b, diff in scale_differences(full, small)}
    assert set(rows) == {"calendar", "day"}
    assert rows["calendar"] == (0.15, 0.15, 0.0)
    assert round(rows["day"][2], 3) == 0.25  # 0.11 against 0.1375


def test_a_page_missing_from_one_run_is_left_out():
    full = _run(1, hello=1000, calendar=150)
    small = _run(0.01, hello=1000)
    assert scale_differences(full, small) == []


def test_a_page_without_any_answer_in_the_first_run_is_left_out():
    full = _run(1, hello=1000, calendar=0)
    small = _run(0.01, hello=1000, calendar=100)
    assert scale_differences(full, small) == []


# --- The bench scripts run end to end, at a tiny size, on SQLite ----------------------------


def run_script(*args: str, cwd, **environment: str) -> str:
    completed = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "error", **environment},
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def last_json_line(script: str, tmp_path) -> dict:
    """What a Python snippet printed last, as JSON, run beside the bench on its own SQLite."""
    output = run_script("-c", script, cwd=tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/bench.db")
    return json.loads(output.strip().splitlines()[-1])


def test_roster_bench_runs_its_four_imports(tmp_path):
    output = run_script(
        "bench/roster.py",
        "--people",
        "300",
        "--files",
        "100",
        "--workdir",
        str(tmp_path),
        cwd=tmp_path,
    )
    assert "SQLite (no goal)" in output
    for label in ("first import", "same file again", "1 % changed, 0.5 % gone", "assistance files"):
        assert label in output


def test_flow_bench_delivers_every_event_once(tmp_path):
    output = run_script("bench/flow.py", "--events", "40", cwd=tmp_path)
    assert "each event id received exactly once: True; bad signatures: 0" in output


def test_the_served_application_freezes_its_startup_objects_and_the_bench_reads_its_usage(
    tmp_path,
):
    """`wsgi:app`, as waitress serves it, leaves what it built at startup out of the garbage
    collector's scans; the bench serves that same module and reports CPU and GC pauses."""
    script = """
import gc, json
import wsgi
frozen = gc.get_freeze_count()
from bench.wsgi import app
client = app.test_client()
first = client.get("/bench-usage").get_json()
gc.collect()
sum(range(3_000_000))
second = client.get("/bench-usage").get_json()
print(json.dumps({"frozen": frozen, "first": first, "second": second}))
"""
    report = last_json_line(script, tmp_path)
    assert report["frozen"] > 10_000  # the modules, the application and its extensions
    assert report["second"]["gc_collections"] >= 1  # gc.collect() was seen, with its pause
    assert report["second"]["gc_longest_ms"] > 0
    assert report["second"]["cpu_seconds"] > report["first"]["cpu_seconds"]


def test_the_ratios_base_is_a_bare_hello_beside_the_portal(tmp_path):
    """`/bench-hello` is answered by a bare Flask application, without any of the portal's
    hooks (no security headers, no session, no log line); `/bench-app-hello` and the pages by
    the portal itself, in the same process."""
    script = """
import json
from werkzeug.test import Client
from bench.wsgi import application
client = Client(application)
bare, portal = client.get("/bench-hello"), client.get("/bench-app-hello")
print(json.dumps({
    "bare": [bare.status_code, bare.get_data(as_text=True), sorted(bare.headers.keys())],
    "portal": [portal.status_code, sorted(portal.headers.keys())],
    "page": client.get("/connexion").status_code,
}))
"""
    report = last_json_line(script, tmp_path)
    assert report["bare"] == [200, "hello", ["Content-Length", "Content-Type"]]
    assert report["portal"][0] == 200
    assert "Content-Security-Policy" in report["portal"][1]
    assert "X-Request-Id" in report["portal"][1]
    assert report["page"] == 200
