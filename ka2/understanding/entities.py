"""Knowledge entities named in a message, found from the base's own labels and synonyms.

Exact whole-word matches first (the base's `find_mentions`), then a fuzzy pass for what users
mistype ("partenarait", "erasmsu", "priorites jeunnesse"): each word or run of words of the message
is compared with the forms of the same length by rapidfuzz. A synonym added in YAML is found at
once, without new training data.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Dict, List, Set, Tuple

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


# Place names and countries are matched exactly: a near miss is another place.
FUZZY_ENTITIES = ("action_type", "management", "sector", "theme", "activity", "agency", "applicant")


def _content(text: str) -> List[str]:
    return [w for w in text.split() if w not in STOPWORDS]


@dataclass(frozen=True)
class _Forms:
    """Every entity type's forms, grouped by their number of words for the fuzzy pass.

    One rapidfuzz call per window of the message, whatever the number of entity types.
    """

    by_length: Dict[int, Tuple[Tuple[str, ...], Tuple[Tuple[str, str], ...]]]  # n -> (forms, (entity, id))


def _fuzzy_forms(kb: KnowledgeBase) -> _Forms:
    grouped: Dict[int, Tuple[List[str], List[Tuple[str, str]]]] = {}
    for entity in FUZZY_ENTITIES:
        for form, entry_id in kb.mention_forms.get(entity, []):
            content = " ".join(_content(form))
            if len(content) < MIN_FUZZY_LENGTH:
                continue
            forms, targets = grouped.setdefault(len(content.split()), ([], []))
            forms.append(content)
            targets.append((entity, entry_id))
    return _Forms({n: (tuple(f), tuple(t)) for n, (f, t) in grouped.items()})


@functools.lru_cache(maxsize=4)  # one base per process; the base hashes by identity
def _all_fuzzy_forms(kb: KnowledgeBase) -> _Forms:
    return _fuzzy_forms(kb)


def _fuzzy(kb: KnowledgeBase, wanted: Set[str], tokens: List[str]) -> Dict[str, List[str]]:
    hits: Dict[str, List[str]] = {}
    for n, (forms, targets) in sorted(_all_fuzzy_forms(kb).by_length.items(), reverse=True):
        for start in range(0, len(tokens) - n + 1):
            window = " ".join(tokens[start : start + n])
            if len(window) < MIN_FUZZY_LENGTH:
                continue
            for form, _, index in process.extract(window, forms, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=3):
                entity, entry_id = targets[index]
                # Same first letter: "lecture" is not "culture", "adulte" is not "faculte".
                if entity in wanted and form[0] == window[0] and entry_id not in hits.get(entity, []):
                    hits.setdefault(entity, []).append(entry_id)
                    break
    return hits


def find_entities(kb: KnowledgeBase, text: str, fuzzy: bool = True) -> Dict[str, List[str]]:
    """Entity name -> entry ids named in `text`, in order of appearance where exact."""
    found: Dict[str, List[str]] = {}
    for entity in ENTITY_ENTRY_TYPES:
        hits = kb.find_mentions(entity, text)
        if hits:
            found[entity] = hits
    wanted = {e for e in FUZZY_ENTITIES if e not in found}
    tokens = _content(words(text))
    if fuzzy and wanted and tokens:
        found.update(_fuzzy(kb, wanted, tokens))
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
    """The message's normalised words without those that name the given entity types.

    What is left says what the message is about ("l'employabilité, c'est une priorité du secteur scolaire
    ?").
    """
    tokens = words(text).split()
    drop = {
        i
        for entity in entity_types
        for start, size, _ in _spans(kb, entity, tokens)
        for i in range(start, start + size)
    }
    return " ".join(t for i, t in enumerate(tokens) if i not in drop)
