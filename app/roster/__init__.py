"""The insurers' roster feed: CSV read as a stream, all-or-nothing set-based imports.

`people` reads the people file (members and their offers), `files` the assistance files
(files and their guarantees), `staging` holds what both share in the database (temporary
tables, errors, the transaction), `insurers` the rules for creating an insurer (slug,
embedding origins, phone). The CLI (`app/cli.py`) only reads arguments and prints the
outcome.
"""

from app.roster.csvfile import MAX_BYTES, MAX_LINES, LineError, RosterImportError, Tally
from app.roster.files import FilesSummary, import_assistance_files, parse_assistance_files
from app.roster.people import PeopleSummary, import_people, parse_people

__all__ = [
    "MAX_BYTES",
    "MAX_LINES",
    "FilesSummary",
    "LineError",
    "PeopleSummary",
    "RosterImportError",
    "Tally",
    "import_assistance_files",
    "import_people",
    "parse_assistance_files",
    "parse_people",
]
