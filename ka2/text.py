"""One text normalisation for every layer: the NLU, the knowledge base's synonyms, the matcher, staff search."""

from __future__ import annotations

import re
import unicodedata


def normalise(text: str) -> str:
    """Lower-case, accent-free, single-spaced form used to compare what users type."""
    text = unicodedata.normalize("NFKD", text.lower().replace("œ", "oe").replace("æ", "ae").replace("’", "'"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.replace("-", " ").split())


def words(text: str) -> str:
    """The normalised words of a text, punctuation and elisions dropped ("d'éducation," -> "d education")."""
    return " ".join(re.findall(r"\w+", normalise(text)))
