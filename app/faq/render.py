"""FAQ text to safe HTML: links for web addresses, <mark> for searched words, line breaks.

Everything from the text is escaped; the only tags are the ones built here.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from markupsafe import Markup, escape

from app.faq.search import term_of, words

URL = re.compile(r"https?://[^\s<>\"'«»]+", re.IGNORECASE)
URL_TRAILING_PUNCTUATION = ".,;:!?)"
# French typography: a no-break space inside « » and before : ; ? ! so they never start a line.
NO_BREAK_BEFORE = re.compile(r" ([:;?!»])")
NO_BREAK_AFTER = re.compile(r"(«) ")
NEW_TAB_HINT_ID = "nouvel-onglet"


def _typography(text: str) -> str:
    return NO_BREAK_AFTER.sub("\\1\u00a0", NO_BREAK_BEFORE.sub("\u00a0\\1", text))


def _highlight(text: str, matched: Collection[str]) -> Markup:
    """Escape a plain piece of text, wrapping the words whose term was searched in <mark>."""
    if not matched:
        return escape(_typography(text))
    out, last = [], 0
    for word in words(text):
        if term_of(word.group()) in matched:
            out.append(escape(_typography(text[last : word.start()])))
            out.append(Markup("<mark>%s</mark>") % word.group())
            last = word.end()
    out.append(escape(_typography(text[last:])))
    return Markup("").join(out)


def _link(url: str) -> Markup:
    return Markup('<a href="%s" target="_blank" rel="noopener" aria-describedby="%s">%s</a>') % (
        url,
        NEW_TAB_HINT_ID,
        url,
    )


def _line(text: str, matched: Collection[str]) -> Markup:
    out, last = [], 0
    for found in URL.finditer(text):
        url = found.group().rstrip(URL_TRAILING_PUNCTUATION)
        out.append(_highlight(text[last : found.start()], matched))
        out.append(_link(url))
        last = found.start() + len(url)
    out.append(_highlight(text[last:], matched))
    return Markup("").join(out)


def render_text(text: str, matched: Collection[str] = ()) -> Markup:
    """An answer (or question) as HTML: escaped, linked, highlighted, one <br> per line."""
    lines = text.strip().splitlines()
    return Markup("<br>\n").join(_line(line, matched) for line in lines)
