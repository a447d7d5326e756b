"""The base's entries nearest to a message, by TF-IDF over character n-grams.

The n-grams of their labels, synonyms, keywords and texts give the best guesses a fallback offers when
the question is not understood.

Plain Python over a few hundred entries: scikit-learn would add ~40 MB to the action server for it.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List

from ..knowledge import KnowledgeBase
from ..text import words

# Entry types worth offering as a guess (facts are reached from their action).
GUESS_TYPES = ("topic", "action", "priority", "agency", "activity", "fact")
MIN_SIMILARITY = 0.12
NGRAMS = (3, 4, 5)


def _ngrams(text: str) -> Counter[str]:
    """Character n-grams within words, padded ("char_wb"): " ka2 " -> " ka", "ka2", "a2 "..."""
    grams: Counter[str] = Counter()
    for word in text.split():
        padded = f" {word} "
        for n in NGRAMS:
            grams.update(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
    return grams


def _weights(grams: Counter[str], idf: Dict[str, float]) -> Dict[str, float]:
    """Sublinear TF times IDF, L2-normalised."""
    weighted = {g: (1 + math.log(c)) * idf.get(g, 0.0) for g, c in grams.items()}
    norm = math.sqrt(sum(w * w for w in weighted.values())) or 1.0
    return {g: w / norm for g, w in weighted.items() if w}


@dataclass
class _Index:
    ids: List[str]
    idf: Dict[str, float]
    vectors: List[Dict[str, float]]


def _document(entry: Dict[str, Any]) -> str:
    parts = [entry["label"], *entry.get("synonyms", []), *entry.get("keywords", [])]
    parts += [entry.get("answer") or "", entry.get("text") or "", entry.get("button") or ""]
    return words(" ".join(parts))


@functools.lru_cache(maxsize=4)  # one base per process; the base hashes by identity
def _index(kb: KnowledgeBase) -> _Index:
    entries = [e for e in kb.entries.values() if e["type"] in GUESS_TYPES]
    grams = [_ngrams(_document(e)) for e in entries]
    frequency: Counter[str] = Counter(g for doc in grams for g in doc)
    idf = {g: math.log((1 + len(grams)) / (1 + df)) + 1 for g, df in frequency.items()}
    return _Index([e["id"] for e in entries], idf, [_weights(doc, idf) for doc in grams])


def nearest_entries(kb: KnowledgeBase, text: str, limit: int = 3) -> List[str]:
    """Up to `limit` entry ids, most similar first; none when nothing is close enough."""
    normalised = words(text)
    if not normalised:
        return []
    index = _index(kb)
    query = _weights(_ngrams(normalised), index.idf)
    scores = [sum(w * vector.get(g, 0.0) for g, w in query.items()) for vector in index.vectors]
    ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
    return [index.ids[i] for i in ranked[:limit] if scores[i] >= MIN_SIMILARITY]
