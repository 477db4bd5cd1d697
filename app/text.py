"""Text rules shared by the roster import, registration and addresses. No Flask here."""

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_HYPHENS = re.compile(r"[-‐‑‒–—_]")
_APOSTROPHES = re.compile(r"[’`´ʼ]")


def fold_name(name: str) -> str:
    """Fold a name for matching: no case, accents, hyphens or repeated spaces.

    Cards print names in capitals, often without accents: « MARTIN-DUPRÉ » and
    « martin  dupre » fold to the same key.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    text = _APOSTROPHES.sub("'", without_accents.casefold())
    text = _HYPHENS.sub(" ", text)
    return _SPACES.sub(" ", text).strip()
