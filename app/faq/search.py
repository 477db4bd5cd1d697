"""FAQ search: French text analysis and relevance ranking, with no Flask in it.

Words are folded (case, accents, ligatures) and reduced by a small light stemmer for
French: plurals (« adresses », « chevaux ») and the common inflectional and simple
derivational endings (« supprimé », « supprimer », « connexion » / « connecter »,
« remboursement » / « rembourser »). Light stemming is what suits short texts such as
FAQ answers: aggressive stemmers (Porter/Snowball) conflate unrelated words, and the
whole FAQ is a few dozen answers, so ranking is done in Python on rows loaded in one
query.

Ranking is BM25 over weighted fields (question above keywords above theme and answer),
multiplied by the share of the query's words found, so that an answer matching every
word comes before one matching a single frequent word.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

# « e-mail » is one word for users; otherwise a word is a run of letters and digits.
WORD = re.compile(r"e-mails?|[^\W_]+", re.IGNORECASE)

QUERY_MAX_LENGTH = 200
MAX_QUERY_TERMS = 20

# Words too common to tell answers apart (folded forms, without accents).
STOPWORDS = frozenset(
    """
    a ai aie au aux avec c ca ce ces cet cette ci comme comment d dans de des du elle elles
    en est et etre eux il ils j je l la le les leur leurs lui m ma mais me meme mes moi mon
    n ne ni nos notre nous on ont ou par pas peut peux plus pour pourquoi qu quand que quel
    quelle quelles quels qui s sa sans se ses si son sont sur t ta te tes toi ton tu un une
    vos votre vous y puis dois doit faire faut suis
    """.split()
)

# Endings removed after the plural, longest first: (ending, replacement, shortest stem kept).
SUFFIXES = (
    ("issement", "", 4),
    ("ication", "i", 3),
    ("ations", "", 4),
    ("ation", "", 4),
    ("ement", "", 4),
    ("xion", "ct", 3),
    ("ance", "", 4),
    ("ence", "", 4),
    ("able", "", 4),
    ("ible", "", 4),
    ("euse", "", 4),
    ("eur", "", 4),
    ("ite", "", 4),
    ("ant", "", 5),
    ("ee", "", 3),
    ("er", "", 3),
    ("ez", "", 3),
    ("ir", "i", 3),
    ("e", "", 3),
)

FIELD_WEIGHTS = {"question": 3.0, "keywords": 2.0, "theme": 1.0, "answer": 1.0}
K1 = 1.2
B = 0.6
PREFIX_FACTOR = 0.5
# Answers scoring under this share of the best one are noise (one common word in passing).
RELATIVE_CUTOFF = 0.15


def fold(text: str) -> str:
    """Lower case without accents or ligatures: « Œuvre Élève » → « oeuvre eleve »."""
    text = text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def stem(word: str) -> str:
    """Light French stem of a folded word; the same for its plural and simple endings."""
    if word.startswith("e-mail") or word.startswith("email"):
        return "email"
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("aux") and len(word) > 4:
        word = word[:-3] + "al"
    elif word[-1] in "sx":
        word = word[:-1]
    for ending, replacement, shortest in SUFFIXES:
        if word.endswith(ending) and len(word) - len(ending) >= shortest:
            return word[: -len(ending)] + replacement
    return word


def words(text: str) -> Iterable[re.Match]:
    """The words of a text, as matches (their spans serve for highlighting)."""
    return WORD.finditer(text)


def term_of(word: str) -> str | None:
    """The searchable term of one word, or None for a stop word or a lone letter."""
    folded = fold(word)
    if folded in STOPWORDS or (len(folded) < 2 and not folded.isdigit()):
        return None
    return stem(folded)


def terms(text: str) -> list[str]:
    """Every searchable term of a text, in order, repeated as often as it occurs."""
    return [t for t in (term_of(m.group()) for m in words(text)) if t is not None]


def query_terms(query: str) -> list[str]:
    """The distinct terms of a query, in order, bounded in length and number."""
    unique = dict.fromkeys(terms(query[:QUERY_MAX_LENGTH]))
    return list(unique)[:MAX_QUERY_TERMS]


@dataclass(frozen=True)
class Document:
    """What the ranking needs of one FAQ entry."""

    key: str
    question: str
    answer: str
    theme: str = ""
    keywords: str = ""


@dataclass
class Hit:
    key: str
    score: float
    matched: frozenset[str] = field(default_factory=frozenset)


@dataclass
class _Indexed:
    key: str
    fields: dict[str, Counter]
    length: float
    vocabulary: frozenset[str]


@lru_cache(maxsize=1024)
def _index(document: Document) -> _Indexed:
    """Terms of each field; cached, since a document is immutable and its key is its text."""
    fields = {name: Counter(terms(getattr(document, name))) for name in FIELD_WEIGHTS}
    length = sum(FIELD_WEIGHTS[name] * sum(c.values()) for name, c in fields.items())
    vocabulary = frozenset().union(*(c.keys() for c in fields.values()))
    return _Indexed(document.key, fields, length, vocabulary)


def _matches(term: str, vocabulary: frozenset[str]) -> tuple[float, set[str]]:
    """How a query term matches a document: exactly (1), as a prefix (½), or not (0)."""
    if term in vocabulary:
        return 1.0, {term}
    if len(term) >= 4:
        found = {word for word in vocabulary if word.startswith(term)}
        if found:
            return PREFIX_FACTOR, found
    return 0.0, set()


def rank(documents: Sequence[Document], query: str) -> list[Hit]:
    """Documents matching the query, most relevant first (ties keep the documents' order)."""
    wanted = query_terms(query)
    if not wanted or not documents:
        return []
    indexed = [_index(d) for d in documents]
    average_length = sum(d.length for d in indexed) / len(indexed) or 1.0
    matches = {(term, d.key): _matches(term, d.vocabulary) for term in wanted for d in indexed}
    hits = []
    for position, document in enumerate(indexed):
        score = 0.0
        found_terms = 0
        matched_words: set[str] = set()
        for term in wanted:
            factor, found = matches[term, document.key]
            if not factor:
                continue
            found_terms += 1
            matched_words |= found
            containing = sum(1 for d in indexed if matches[term, d.key][0])
            idf = math.log(1 + (len(indexed) - containing + 0.5) / (containing + 0.5))
            frequency = sum(
                FIELD_WEIGHTS[name] * sum(counter[word] for word in found)
                for name, counter in document.fields.items()
            )
            norm = K1 * (1 - B + B * document.length / average_length)
            score += factor * idf * frequency * (K1 + 1) / (frequency + norm)
        if found_terms:
            coverage = found_terms / len(wanted)
            hits.append((score * coverage * coverage, position, document.key, matched_words))
    hits.sort(key=lambda hit: (-hit[0], hit[1]))
    floor = hits[0][0] * RELATIVE_CUTOFF if hits else 0.0
    return [Hit(key, score, frozenset(found)) for score, _, key, found in hits if score >= floor]
