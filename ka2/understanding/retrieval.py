"""The base's entries nearest to a message, by TF-IDF over character n-grams of their labels,
synonyms, keywords and texts: the best guesses a fallback offers when the question is not understood."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

from sklearn.feature_extraction.text import TfidfVectorizer

from ..knowledge import KnowledgeBase
from ..text import words

# Entry types worth offering as a guess (facts are reached from their action).
GUESS_TYPES = ("topic", "action", "priority", "agency", "activity", "fact")
MIN_SIMILARITY = 0.12


@dataclass
class _Index:
    ids: List[str]
    vectorizer: TfidfVectorizer
    matrix: Any


def _document(entry: Dict[str, Any]) -> str:
    parts = [entry["label"], *entry.get("synonyms", []), *entry.get("keywords", [])]
    parts += [entry.get("answer") or "", entry.get("text") or "", entry.get("button") or ""]
    return words(" ".join(parts))


_INDEXES: Dict[int, Tuple[KnowledgeBase, _Index]] = {}


def _index(kb: KnowledgeBase) -> _Index:
    cached = _INDEXES.get(id(kb))
    if cached is None or cached[0] is not kb:
        entries = [e for e in kb.entries.values() if e["type"] in GUESS_TYPES]
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        matrix = vectorizer.fit_transform([_document(e) for e in entries])
        cached = (kb, _Index([e["id"] for e in entries], vectorizer, matrix))
        _INDEXES[id(kb)] = cached
    return cached[1]


def nearest_entries(kb: KnowledgeBase, text: str, limit: int = 3) -> List[str]:
    """Up to `limit` entry ids, most similar first; none when nothing is close enough."""
    normalised = words(text)
    if not normalised:
        return []
    index = _index(kb)
    scores = (index.matrix @ index.vectorizer.transform([normalised]).T).toarray().ravel()
    ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
    return [index.ids[i] for i in ranked[:limit] if scores[i] >= MIN_SIMILARITY]
