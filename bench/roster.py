"""Roster feed benchmark: a large mutuelle's files imported into a fresh database.

    .venv/bin/python bench/roster.py --database-url postgresql+psycopg://postgres@127.0.0.1/h13_bench
    .venv/bin/python bench/roster.py --people 100000 --files 50000   # a tenth, on SQLite only

Generates a people file (1,000,000 lines, about 330,000 families, by default) and an
assistance files feed (500,000 lines), then imports into a fresh database built from the
migrations, each run in its own process through `flask roster import` / `import-files`:

1. the first import of the people file;
2. the same file again (nothing changes);
3. a file where 1 % of the lines changed (offer ends, corrected first names and birth
   dates) and 0.5 % disappeared (those people's offers end);
4. the assistance files feed.

For each run it prints the wall time, the CPU time and the peak memory of the importing
process (`resource.getrusage`; the database server's CPU time is not in it), beside the
goals of issue 13 on PostgreSQL (first import under 60 s, the others under 30 s, peak
under 300 MB). Without `--database-url`, or with `--sqlite` as well, the same runs go to a
fresh SQLite file, without goals.

Not a test: nothing fails on the goals.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import bench_database  # noqa: E402

SLUG = "banc-d-essai"
PEOPLE_HEADER = "numero_adherent;qualite;nom;prenom;date_naissance;offre_debut;offre_fin"
FILES_HEADER = "numero_adherent;numero_dossier;garantie;debut;fin"
# Goals of issue 13 on PostgreSQL: seconds for each run, and megabytes of peak memory.
GOALS = {"first": 60, "again": 30, "changed": 30, "files": 30}
MEMORY_GOAL_MB = 300
CHANGED_SHARE, GONE_SHARE = 0.01, 0.005

LAST_NAMES = (
    "MARTIN BERNARD THOMAS PETIT ROBERT RICHARD DURAND DUBOIS MOREAU LAURENT SIMON MICHEL "
    "LEFEBVRE LEROY ROUX DAVID BERTRAND MOREL FOURNIER GIRARD BONNET DUPONT LAMBERT FONTAINE "
    "ROUSSEAU VINCENT MULLER LEFEVRE FAURE ANDRE MERCIER BLANC GUERIN BOYER GARNIER CHEVALIER "
    "FRANCOIS LEGRAND GAUTHIER GARCIA PERRIN ROBIN CLEMENT MORIN NICOLAS HENRY ROUSSEL MATHIEU "
    "GAUTIER MASSON MARCHAND DUVAL DENIS DUMONT MARIE LEMAIRE NOEL MEYER DUFOUR MEUNIER BRUN "
    "BLANCHARD GIRAUD JOLY RIVIERE LUCAS BRUNET GAILLARD BARBIER ARNAUD MARTINEZ GERARD ROCHE "
    "RENARD SCHMITT ROY LEROUX COLIN VIDAL CARON PICARD ROGER FABRE AUBERT LEMOINE RENAUD "
    "DUMAS LACROIX OLIVIER PHILIPPE BOURGEOIS PIERRE BENOIT REY LECLERC PAYET ROLLAND LECLERCQ"
).split()
FIRST_NAMES = (
    "Sophie Karim Hélène Maxime Franck Lina Jules Louise Gabriel Emma Raphaël Jade Léo Alice "
    "Louis Chloé Arthur Lina Adam Rose Hugo Anna Paul Mila Nathan Inès Lucas Julia Tom Zoé "
    "Éthan Léna Noah Manon Sacha Lou Victor Ambre Mohamed Camille Théo Sarah Nolan Romane "
    "Martin Lucie Axel Agathe Mathis Eva Enzo Margaux Baptiste Clara Antoine Juliette Samuel "
    "Nina Marius Léonie Robin Capucine Valentin Alix Timéo Charlotte Maël Héloïse Noé Elsa"
).split()
FIRST_NAMES = tuple(dict.fromkeys(FIRST_NAMES))
GUARANTEES = ("Conduite à l'école", "Transport aux examens scolaires")


@dataclass
class Measure:
    name: str
    lines: int
    seconds: float
    cpu_seconds: float
    peak_mb: float
    output: str


# --- Files --------------------------------------------------------------------------------


def _day(rng: random.Random, first: date, days: int) -> date:
    return first + timedelta(days=rng.randrange(days))


def people_lines(count: int, year: int, seed: int = 13):
    """(member number, line) for `count` people in families of 1 to 5 (3 on average)."""
    rng = random.Random(seed)
    offer = f"01/01/{year};31/12/{year}"
    family = written = 0
    while written < count:
        family += 1
        number = f"M{family:09d}"
        last = rng.choice(LAST_NAMES)
        size = min(rng.choice((1, 2, 3, 3, 4, 5, 3)), count - written)
        firsts = rng.sample(FIRST_NAMES, size)
        for index, first in enumerate(firsts):
            if index == 0:
                quality = "Souscripteur" if rng.random() < 0.1 else "Adhérent"
                born = _day(rng, date(1960, 1, 1), 30 * 365)
            elif index == 1 and size > 2:
                quality = "Conjoint"
                born = _day(rng, date(1960, 1, 1), 30 * 365)
            else:
                quality = "Enfant"
                born = _day(rng, date(year - 18, 1, 1), 15 * 365)
            yield number, f"{number};{quality};{last};{first};{born:%d/%m/%Y};{offer}"
            written += 1


def _changed(line: str, rng: random.Random, year: int) -> str:
    """One line changed as a nightly roster changes: a new offer end mostly, sometimes a
    first name or a birth date corrected."""
    number, quality, last, first, born, start, _ = line.split(";")
    kind = rng.random()
    if kind < 0.1:
        first = first + "e" if not first.endswith("e") else first[:-1]
    elif kind < 0.2:
        day, month, year_born = born.split("/")
        born = f"{(int(day) % 28) + 1:02d}/{month}/{year_born}"
    else:
        return f"{number};{quality};{last};{first};{born};{start};30/06/{year + 1}"
    return f"{number};{quality};{last};{first};{born};{start};31/12/{year}"


def write_people(path: Path, count: int, year: int, changed: bool = False) -> int:
    rng = random.Random(31)
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(PEOPLE_HEADER + "\r\n")
        for _, line in people_lines(count, year):
            if changed:
                roll = rng.random()
                if roll < GONE_SHARE:
                    continue
                if roll < GONE_SHARE + CHANGED_SHARE:
                    line = _changed(line, rng, year)
            out.write(line + "\r\n")
            written += 1
    return written


def write_files(path: Path, count: int, people: int, year: int) -> int:
    """Two guarantees per file, one file per family, the first families first."""
    written = 0
    numbers = (number for number, _ in people_lines(people, year))
    previous = None
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(FILES_HEADER + "\r\n")
        for number in numbers:
            if number == previous:
                continue
            previous = number
            for guarantee in GUARANTEES:
                if written == count:
                    return written
                out.write(f"{number};D{number[1:]};{guarantee};01/09/{year};30/06/{year + 1}\r\n")
                written += 1
    return written


def _data_lines(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for _ in lines) - 1


# --- Runs ---------------------------------------------------------------------------------


def child(url: str, args: list[str]) -> None:
    """In a process of its own: one CLI import, then its output and peak memory as JSON."""
    from app import create_app
    from config import config_from_env

    app = create_app(config_from_env(), SQLALCHEMY_DATABASE_URI=url)
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(args=args)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kb = usage.ru_maxrss  # kilobytes on Linux
    print(
        json.dumps(
            {
                "exit_code": result.exit_code,
                "output": result.output,
                "seconds": seconds,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "peak_mb": peak_kb / 1024,
            }
        )
    )


def measure(url: str, name: str, lines: int, args: list[str]) -> Measure:
    env = {**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_hex(16)}
    completed = subprocess.run(
        [sys.executable, __file__, "--child", url, "--", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=ROOT,
    )
    if completed.returncode != 0:
        sys.exit(f"{name}: the measuring process failed\n{completed.stderr}")
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    if report["exit_code"] != 0:
        sys.exit(f"{name}: the import was refused\n{report['output']}")
    return Measure(
        name,
        lines,
        report["seconds"],
        report["cpu_seconds"],
        report["peak_mb"],
        report["output"],
    )


def migrate(url: str) -> None:
    import flask_migrate

    from app import create_app
    from app.extensions import db
    from app.roster.insurers import create_insurer
    from config import TestingConfig

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        flask_migrate.upgrade()
        create_insurer(db.session, SLUG, "Mutuelle du banc d'essai")
        db.engine.dispose()


def run_all(url: str, title: str, files: dict[str, Path], counts: dict[str, int], goals: bool):
    """The four runs, each printed as soon as it is measured."""
    migrate(url)
    people = ["roster", "import", SLUG]
    runs = [
        ("first", counts["people"], [*people, str(files["people"])]),
        ("again", counts["people"], [*people, str(files["people"])]),
        ("changed", counts["changed"], [*people, str(files["changed"])]),
        ("files", counts["files"], ["roster", "import-files", SLUG, str(files["files"])]),
    ]
    print_heading(title)
    for name, lines, args in runs:
        print_row(measure(url, name, lines, args), goals)


LABELS = {
    "first": "first import",
    "again": "same file again",
    "changed": "1 % changed, 0.5 % gone",
    "files": "assistance files",
}


def print_heading(title: str) -> None:
    print(f"\n{title}")
    print(f"{'run':<26} {'lines':>10} {'wall':>9} {'cpu':>8} {'peak':>9}  goal", flush=True)


def print_row(m: Measure, goals: bool) -> None:
    goal = ""
    if goals:
        time_ok = "ok" if m.seconds < GOALS[m.name] else "MISSED"
        memory_ok = "ok" if m.peak_mb < MEMORY_GOAL_MB else "MISSED"
        goal = f"< {GOALS[m.name]} s {time_ok}, < {MEMORY_GOAL_MB} MB {memory_ok}"
    print(
        f"{LABELS[m.name]:<26} {m.lines:>10,} {m.seconds:>8.1f}s {m.cpu_seconds:>7.1f}s "
        f"{m.peak_mb:>7.0f}MB  {goal}",
        flush=True,
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000, help="people file lines")
    parser.add_argument("--files", type=int, default=500_000, help="assistance files lines")
    parser.add_argument(
        "--database-url", help="an empty PostgreSQL database (refused if it has tables)"
    )
    parser.add_argument("--drop-existing", action="store_true", help="empty --database-url first")
    parser.add_argument(
        "--sqlite", action="store_true", help="also run on SQLite (always, without a URL)"
    )
    parser.add_argument("--workdir", type=Path, help="where files go (default: a temporary one)")
    parser.add_argument(
        "--reuse-files",
        action="store_true",
        help="with --workdir: keep the files an earlier run wrote there",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        child(args.child, args.rest)
        return 0
    with tempfile.TemporaryDirectory(prefix="cartable-roster-") as temporary:
        workdir = args.workdir or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        year = date.today().year
        paths = {name: workdir / f"{name}.csv" for name in ("people", "changed", "files")}
        started = time.perf_counter()
        if args.reuse_files and all(path.exists() for path in paths.values()):
            counts = {name: _data_lines(path) for name, path in paths.items()}
        else:
            counts = {
                "people": write_people(paths["people"], args.people, year),
                "changed": write_people(paths["changed"], args.people, year, changed=True),
                "files": write_files(paths["files"], args.files, args.people, year),
            }
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.0f} MB" for p in paths.values())
        print(f"Files written in {time.perf_counter() - started:.1f} s: {sizes}", flush=True)
        if args.database_url:
            url = bench_database(args.database_url, args.drop_existing, workdir)
            run_all(url, f"PostgreSQL ({url.rsplit('/', 1)[-1]})", paths, counts, goals=True)
        if args.sqlite or not args.database_url:
            url = bench_database(None, False, workdir)
            run_all(url, "SQLite (no goal)", paths, counts, goals=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
