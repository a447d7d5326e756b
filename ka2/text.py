"""One text normalisation for every layer: the NLU, the knowledge base's synonyms, the matcher, staff search."""

from __future__ import annotations

import re
import unicodedata
from typing import Dict

# Non-ASCII character -> its accent-free form, filled on first sight of each: decomposing char by
# char is what `unicodedata` on the whole text gives (NFKD only reorders the combining marks it
# drops), at a fraction of the cost (staff reports normalise 100,000 messages).
_ACCENT_FREE: Dict[str, str] = {}
_SPELLED_OUT = {"œ": "oe", "æ": "ae", "’": "'"}
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _accent_free(match: re.Match[str]) -> str:
    char = match.group()
    found = _ACCENT_FREE.get(char)
    if found is None:
        decomposed = unicodedata.normalize("NFKD", _SPELLED_OUT.get(char, char))
        found = _ACCENT_FREE[char] = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return found


def normalise(text: str) -> str:
    """Lower-case, accent-free, single-spaced form used to compare what users type."""
    text = text.lower()
    if not text.isascii():
        text = _NON_ASCII.sub(_accent_free, text)
    return " ".join(text.replace("-", " ").split())


def words(text: str) -> str:
    """The normalised words of a text, punctuation and elisions dropped ("d'éducation," -> "d education")."""
    return " ".join(re.findall(r"\w+", normalise(text)))
