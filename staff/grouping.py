"""Group similar messages without comparing each message with every group (`ka2-staff unanswered`).

Similar is `text.are_similar`: shared content words (Jaccard >= 0.5) or near-identical spelling
(Indel ratio >= 0.8). A message joins the oldest group whose first message shares its words, else
the oldest one spelled alike, else starts a group (the pairwise rule before took the oldest similar
group either way: the same number of groups on the benchmark, 93 % of the same pairs, and a group
of shared meaning is preferred to one of shared spelling).
Comparing each message with every group was quadratic (1,000 messages: 222 s). Here:

- each distinct text is normalised once (its words and character trigrams), and repeats of a text
  go straight to the group of its first occurrence;
- a message is compared only with the groups an inverted index proposes: those sharing one of the
  rarest tokens of its prefix (prefix filtering: two word sets with Jaccard >= 0.5 always share a
  token of their prefixes, under one rare-first order), for words and for trigrams (typos);
- the spelling of all the candidates is compared in one call in C (rapidfuzz's process.extract);
- the work per message is bounded: at most MAX_POSTINGS groups per token (the oldest ones, which
  the rule prefers), MAX_CANDIDATES compared by words, MAX_SPELLING_CANDIDATES by spelling, and
  trigrams common to more than COMMON_TRIGRAM groups are not probed.

On the benchmark's messages it gives the groups of the same rule applied pairwise exactly
(bench/unanswered.py); a pair whose spelling is alike (ratio >= 0.8) while sharing under half of
its trigrams can be missed (TRIGRAM_OVERLAP).

Bench: bench/unanswered.py (numbers in the README).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter
from typing import Dict, FrozenSet, Iterable, List, Sequence, Set, Tuple

from rapidfuzz import process
from rapidfuzz.distance import Indel

from ka2.text import normalise

from .text import SIMILAR_SPELLING, SIMILAR_WORDS, normalised_content_words, spelling_similarity

# Two spellings with ratio >= 0.8 nearly always share half of their trigrams (a typo costs three);
# not always: "c'st quoi USA svp" / "c'est qoi Epos svp" share a quarter, and are not compared.
TRIGRAM_OVERLAP = 0.5
# Bounds on the work per message: groups per index token (the oldest, which the rule prefers),
# groups compared by words and by spelling.
MAX_POSTINGS = 2000
MAX_CANDIDATES = 300
MAX_SPELLING_CANDIDATES = 1000
# A trigram in the prefixes of more than this many groups (" c'", "est") proposes nothing: probing it
# cost most of the time, and found no group the rarer trigrams missed (benchmark, 2,000 messages).
COMMON_TRIGRAM = 100
# rapidfuzz turns a similarity cutoff into a rounded distance: keep a ratio of exactly 0.8 in (a prefilter).
INDEL_CUTOFF = SIMILAR_SPELLING - 0.01


@dataclass(frozen=True)
class Fingerprint:
    text: str  # normalised
    words: FrozenSet[str]
    trigrams: FrozenSet[str]


def fingerprint(text: str) -> Fingerprint:
    normalised = normalise(text)
    padded = f" {normalised} "
    trigrams = frozenset([padded[i : i + 3] for i in range(len(padded) - 2)])
    return Fingerprint(normalised, normalised_content_words(normalised), trigrams)


def prefix(tokens: Iterable[str], rank: Dict[str, int], threshold: float) -> List[str]:
    """The rarest tokens any set overlapping `tokens` by `threshold` (Jaccard) must share one of."""
    ordered = sorted(tokens, key=rank.__getitem__)
    return ordered[: len(ordered) - math.ceil(threshold * len(ordered)) + 1] if ordered else []


def words_similar(a: FrozenSet[str], b: FrozenSet[str]) -> bool:
    shared = len(a & b)
    return bool(shared) and shared >= SIMILAR_WORDS * (len(a) + len(b) - shared)


def similar(a: Fingerprint, b: Fingerprint) -> bool:
    """`text.are_similar` on fingerprints."""
    return words_similar(a.words, b.words) or spelling_similarity(a.text, b.text) >= SIMILAR_SPELLING


class _Index:
    """Token -> groups whose first message has it in its prefix, oldest first (MAX_POSTINGS at most)."""

    def __init__(self, rank: Dict[str, int], threshold: float, common: int = 0) -> None:
        self.rank, self.threshold = rank, threshold
        # A token shared by more than `common` groups selects nothing: skipped when probing (0: never).
        self.common = common
        self.postings: Dict[str, List[int]] = {}

    def keys(self, tokens: Iterable[str]) -> List[str]:
        return prefix(tokens, self.rank, self.threshold)

    def add(self, tokens: Iterable[str], group: int) -> None:
        for token in self.keys(tokens):
            posting = self.postings.setdefault(token, [])
            if len(posting) < MAX_POSTINGS:
                posting.append(group)

    def candidates(self, tokens: Iterable[str]) -> Set[int]:
        found: Set[int] = set()
        common = self.common
        for token in self.keys(tokens):
            posting = self.postings.get(token, ())
            if not common or len(posting) <= common:
                found.update(posting)  # in C: no Python step per group
        return found


def _ranks(prints: Sequence[Fingerprint]) -> Tuple[Dict[str, int], Dict[str, int]]:
    """A rare-first order of the words and of the trigrams (their document frequency)."""
    words: Counter = Counter()
    trigrams: Counter = Counter()
    for item in prints:
        words.update(item.words)
        trigrams.update(item.trigrams)

    def rank(counts: Counter) -> Dict[str, int]:
        return {token: i for i, token in enumerate(sorted(counts, key=lambda t: (counts[t], t)))}

    return rank(words), rank(trigrams)


def _first_similar(
    item: Fingerprint, leaders: List[Fingerprint], leader_texts: List[str], by_words: _Index, by_spelling: _Index
):
    """The oldest group sharing the words of `item`, else the oldest spelled alike (of those proposed)."""
    words = item.words
    best = next(
        (g for g in sorted(by_words.candidates(words))[:MAX_CANDIDATES] if words_similar(leaders[g].words, words)),
        None,
    )
    if best is not None:
        return best
    spelling = sorted(by_spelling.candidates(item.trigrams))[:MAX_SPELLING_CANDIDATES]
    if spelling:
        # No group shares its words: one call in C over the candidates' spellings.
        texts = itemgetter(*spelling)(leader_texts) if len(spelling) > 1 else (leader_texts[spelling[0]],)
        hits = process.extract(
            item.text, texts, scorer=Indel.normalized_similarity, score_cutoff=INDEL_CUTOFF, limit=None
        )
        found = [spelling[index] for _, score, index in hits if score >= SIMILAR_SPELLING]
        if found:
            return min(found)
    return best


def group_indices(texts: Sequence[str]) -> List[int]:
    """The group number of each text (0, 1, ... in order of creation), by `text.are_similar`'s rule."""
    distinct: Dict[str, int] = {}
    prints: List[Fingerprint] = []
    keys: List[int] = []
    for text in texts:
        key = distinct.get(text)
        if key is None:
            item = fingerprint(text)
            key = distinct.get(item.text)
            if key is None:
                key = distinct[item.text] = len(prints)
                prints.append(item)
            distinct[text] = key
        keys.append(key)
    word_rank, trigram_rank = _ranks(prints)
    by_words, by_spelling = _Index(word_rank, SIMILAR_WORDS), _Index(trigram_rank, TRIGRAM_OVERLAP, COMMON_TRIGRAM)
    leaders: List[Fingerprint] = []
    leader_texts: List[str] = []
    group_of: List[int] = []
    for item in prints:
        found = _first_similar(item, leaders, leader_texts, by_words, by_spelling)
        if found is None:
            found = len(leaders)
            leaders.append(item)
            leader_texts.append(item.text)
            by_words.add(item.words, found)
            by_spelling.add(item.trigrams, found)
        group_of.append(found)
    return [group_of[key] for key in keys]
