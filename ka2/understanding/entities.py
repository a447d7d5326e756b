"""Knowledge entities named in a message, found from the base's own labels and synonyms.

Exact whole-word matches first (the base's `find_mentions`), then a fuzzy pass for what users
mistype ("partenarait", "erasmsu", "priorites jeunnesse"): each word or run of words of the message
is compared with the forms of the same length by rapidfuzz. A synonym added in YAML is found at
once, without new training data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

from rapidfuzz import fuzz, process

from ..knowledge import ENTITY_ENTRY_TYPES, KnowledgeBase
from ..text import words

# Below this length a form is matched exactly only: "mj", "amo", "esa", "fac" are too short to guess.
MIN_FUZZY_LENGTH = 6
# rapidfuzz ratio (0-100) a mistyped form must reach; 88 lets one typo in six letters through.
FUZZY_CUTOFF = 88
# Dropped from forms and messages before the fuzzy pass: "partenarait cooperation" is still
# "partenariat de coopération".
STOPWORDS = frozenset("a au aux d de des du en et l la le les pour dans un une".split())


def _content(text: str) -> List[str]:
    return [w for w in text.split() if w not in STOPWORDS]


@dataclass(frozen=True)
class _Forms:
    """One entity type's forms, grouped by their number of words for the fuzzy pass."""

    by_length: Dict[int, Tuple[Tuple[str, ...], Tuple[str, ...]]]  # n words -> (forms, entry ids)


def _fuzzy_forms(kb: KnowledgeBase, entity: str) -> _Forms:
    grouped: Dict[int, Tuple[List[str], List[str]]] = {}
    for form, entry_id in kb.mention_forms.get(entity, []):
        content = " ".join(_content(form))
        if len(content) < MIN_FUZZY_LENGTH:
            continue
        forms, ids = grouped.setdefault(len(content.split()), ([], []))
        forms.append(content)
        ids.append(entry_id)
    return _Forms({n: (tuple(f), tuple(i)) for n, (f, i) in grouped.items()})


# id(kb) -> (kb, forms): the base is loaded once per process; keeping it here keeps its id unique.
_FORMS_CACHE: Dict[int, Tuple[KnowledgeBase, Dict[str, _Forms]]] = {}


def _all_fuzzy_forms(kb: KnowledgeBase) -> Dict[str, _Forms]:
    cached = _FORMS_CACHE.get(id(kb))
    if cached is None or cached[0] is not kb:
        cached = (kb, {entity: _fuzzy_forms(kb, entity) for entity in ENTITY_ENTRY_TYPES})
        _FORMS_CACHE[id(kb)] = cached
    return cached[1]


def _fuzzy(kb: KnowledgeBase, entity: str, tokens: List[str]) -> List[str]:
    hits: List[str] = []
    for n, (forms, ids) in sorted(_all_fuzzy_forms(kb)[entity].by_length.items(), reverse=True):
        for start in range(0, len(tokens) - n + 1):
            window = " ".join(tokens[start : start + n])
            if len(window) < MIN_FUZZY_LENGTH:
                continue
            best = process.extractOne(window, forms, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
            # Same first letter: "lecture" is not "culture", "adulte" is not "faculte".
            if best and best[0][0] == window[0] and ids[best[2]] not in hits:
                hits.append(ids[best[2]])
    return hits


def find_entities(kb: KnowledgeBase, text: str, fuzzy: bool = True) -> Dict[str, List[str]]:
    """entity name -> entry ids named in `text`, in order of appearance where exact."""
    found: Dict[str, List[str]] = {}
    tokens = _content(words(text))
    for entity in ENTITY_ENTRY_TYPES:
        hits = kb.find_mentions(entity, text)
        if not hits and fuzzy and tokens:
            hits = _fuzzy(kb, entity, tokens)
        if hits:
            found[entity] = hits
    return found


def _spans(kb: KnowledgeBase, entity: str, tokens: List[str]) -> List[Tuple[int, int, str]]:
    """(first word, word count, entry id) of each exact mention, longest forms first, never overlapping."""
    spans: List[Tuple[int, int, str]] = []
    taken = [False] * len(tokens)
    for form, entry_id in kb.mention_forms.get(entity, []):
        size = len(form.split())
        for start in range(0, len(tokens) - size + 1) if size else ():
            if not any(taken[start : start + size]) and " ".join(tokens[start : start + size]) == form:
                spans.append((start, size, entry_id))
                taken[start : start + size] = [True] * size
    return sorted(spans)


def mention_positions(kb: KnowledgeBase, entity: str, text: str) -> List[Tuple[int, str]]:
    """(word index, entry id) of each exact mention of an entity type, in order of appearance."""
    return [(start, entry_id) for start, _, entry_id in _spans(kb, entity, words(text).split())]


def without_mentions(kb: KnowledgeBase, text: str, entity_types: Tuple[str, ...]) -> str:
    """The message's normalised words without those that name the given entity types: what is left
    says what the message is about ("l'employabilité, c'est une priorité du secteur scolaire ?")."""
    tokens = words(text).split()
    drop = {i for entity in entity_types for start, size, _ in _spans(kb, entity, tokens) for i in range(start, start + size)}
    return " ".join(t for i, t in enumerate(tokens) if i not in drop)
