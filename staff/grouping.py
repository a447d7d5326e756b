"""Group similar messages without comparing each message with every group (`ka2-staff unanswered`).

Similar is `text.are_similar`: shared content words (Jaccard >= 0.5) or near-identical spelling
(Indel ratio >= 0.8). A message joins the oldest group whose first message shares its words, else
the oldest one spelled alike, else starts a group (the pairwise rule before took the oldest similar
group either way: the same number of groups on the benchmark, 93 % of the same pairs, and a group
of shared meaning is preferred to one of shared spelling).
Comparing each message with every group was quadratic (1,000 messages: 222 s). Here:

- each distinct text is normalised once, each distinct word stemmed once, and repeats of a text go
  straight to the group of its first occurrence; each distinct set of words is looked up once too
  (its oldest group stays the oldest: later groups are newer), and again only among newer groups;
- a message is compared only with the groups an inverted index proposes. By words: those sharing
  a pair of its rarest words (two sets of two words or more with Jaccard >= 0.5 share two words, a
  pair is far more selective than one word). By spelling (typos): those sharing one of the rarest
  trigrams of its prefix (prefix filtering: two sets with Jaccard >= 0.5 always share a token of
  their prefixes, under one rare-first order); tokens are numbered in that order, and a message
  probes the postings of its MAX_TRIGRAM_PROBES rarest trigrams only;
- trigrams are only made for the messages that no group shares the words of (a quarter of them),
  and their rare-first order is counted on at most RANK_SAMPLE texts;
- the spelling of all the candidates of a length that can reach the ratio is compared in one call in
  C (rapidfuzz's process.extract);
- the work per message is bounded: at most MAX_POSTINGS groups per key (the oldest ones, which
  the rule prefers), MAX_CANDIDATES compared by words, MAX_SPELLING_CANDIDATES by spelling, and
  trigrams common to more than COMMON_TRIGRAM groups are not probed.

On the benchmark's messages it gives the groups of the same rule applied pairwise exactly
(bench/unanswered.py, up to 2,000 messages); a pair whose spelling is alike (ratio >= 0.8) while
sharing under half of its trigrams, or none of the rarest, can be missed (TRIGRAM_OVERLAP,
MAX_TRIGRAM_PROBES).

Bench: bench/unanswered.py (numbers in the README).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from itertools import chain, combinations, repeat
from operator import itemgetter
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from rapidfuzz import process
from rapidfuzz.distance import Indel

from ka2.text import normalise

from .text import SIMILAR_SPELLING, SIMILAR_WORDS, are_similar, content_words, normalised_content_words_of

# Two spellings with ratio >= 0.8 nearly always share half of their trigrams (a typo costs three);
# not always: "c'st quoi USA svp" / "c'est qoi Epos svp" share a quarter, and are not compared.
TRIGRAM_OVERLAP = 0.5
# Bounds on the work per message: groups per index key (the oldest, which the rule prefers),
# groups compared by words and by spelling.
MAX_POSTINGS = 2000
MAX_CANDIDATES = 300
MAX_SPELLING_CANDIDATES = 1000
# A trigram in the prefixes of more than this many groups (" c'", "est") proposes nothing: probing it
# cost most of the time, and found no group the rarer trigrams missed (benchmark, 2,000 messages).
COMMON_TRIGRAM = 100
# A message probes the postings of its rarest trigrams only (each group is still indexed by all of its
# prefix): bounds long messages; 12 lost 1 % of the pairs on 10,000 benchmark messages, 20 none.
MAX_TRIGRAM_PROBES = 20
# Trigram frequencies are counted on this many texts at most, evenly spread: making the trigrams of
# 100,000 texts cost a second, and a sample orders them (rare first) about as well.
RANK_SAMPLE = 20_000
# rapidfuzz turns a similarity cutoff into a rounded distance: keep a ratio of exactly 0.8 in (a prefilter).
INDEL_CUTOFF = SIMILAR_SPELLING - 0.01
# What a trigram's posting becomes past COMMON_TRIGRAM groups: it is never probed again.
_TOO_COMMON: Tuple[int, ...] = ()


def trigrams(normalised: str) -> FrozenSet[str]:
    padded = f" {normalised} "
    return frozenset([padded[i : i + 3] for i in range(len(padded) - 2)])


class _Rank(dict):
    """Token -> number, the higher the rarer (so a token's number is also its index key).

    A token the counts did not have is rarer than all: numbered on first sight, after them.
    """

    def __init__(self, counts: Counter) -> None:
        # Most common first, then alphabetical: one order for every set of tokens.
        super().__init__((token, i) for i, token in enumerate(sorted(counts, key=lambda t: (-counts[t], t))))

    def __missing__(self, token: str) -> int:
        found = self[token] = len(self)
        return found

    def rarest(self, tokens: Iterable[str], count: int) -> List[int]:
        return sorted(map(self.__getitem__, tokens), reverse=True)[:count]


def prefix_length(size: int, threshold: float) -> int:
    """How many of its rarest tokens any set overlapping a set of `size` by `threshold` (Jaccard) shares one of."""
    return size - math.ceil(threshold * size) + 1


class _WordIndex:
    """Word keys -> groups, oldest first: two word sets with Jaccard >= 0.5 always share a key.

    Jaccard >= 0.5 is 3 x shared >= |a| + |b|: sets of two words or more share two of them, two of the
    first |a| // 2 + 2 in the rare-first order (shared >= half of either set), so their pairs are the
    keys: far fewer groups share a pair than a word ("erasmus"). A single word meets only itself or a
    pair holding it, and a pair a single word of it: those are keyed by the word.
    """

    def __init__(self, rank: _Rank) -> None:
        self.rank = rank
        self.postings: Dict[object, List[int]] = {}

    def _pairs(self, words: FrozenSet[str]) -> List[Tuple[int, int]]:
        return list(combinations(self.rank.rarest(words, len(words) // 2 + 2), 2))

    def add(self, words: FrozenSet[str], group: int) -> None:
        keys: List[object] = self._pairs(words) if len(words) > 1 else [self.rank[word] for word in words]
        if len(words) == 2:
            keys.extend((self.rank[word],) for word in words)  # what a single word of the pair probes
        for key in keys:
            posting = self.postings.setdefault(key, [])
            if len(posting) < MAX_POSTINGS:
                posting.append(group)

    def candidates(self, words: FrozenSet[str]) -> List[int]:
        """The groups proposed, oldest first."""
        keys: List[object] = self._pairs(words) if len(words) > 1 else [(self.rank[word],) for word in words]
        if len(words) <= 2:
            keys.extend(self.rank[word] for word in words)  # a group of one word of them
        # In C: no Python step per group.
        return sorted(set(chain.from_iterable(map(self.postings.get, keys, repeat(())))))


class _TrigramIndex:
    """Trigram -> groups whose first message has it in its prefix (rare-first order), oldest first."""

    def __init__(self, rank: _Rank) -> None:
        self.rank = rank
        self.postings: Dict[int, List[int]] = {}

    def keys(self, tokens: FrozenSet[str]) -> List[int]:
        return self.rank.rarest(tokens, prefix_length(len(tokens), TRIGRAM_OVERLAP))

    def add(self, keys: List[int], group: int) -> None:
        postings = self.postings
        for key in keys:
            posting = postings.setdefault(key, [])
            if posting is _TOO_COMMON:
                continue
            if len(posting) < COMMON_TRIGRAM:
                posting.append(group)
            else:
                postings[key] = _TOO_COMMON  # proposes nothing from now on

    def candidates(self, keys: List[int]) -> List[int]:
        """The groups proposed by the rarest MAX_TRIGRAM_PROBES keys not too common, oldest first."""
        postings = [found for found in map(self.postings.get, keys) if found]  # None, or too common: ()
        return sorted(set(chain.from_iterable(postings[:MAX_TRIGRAM_PROBES])))


class _Groups:
    """The groups made so far: their first message (words, spelling) and the indexes proposing them."""

    def __init__(self, word_rank: _Rank, trigram_rank: _Rank) -> None:
        self.by_words = _WordIndex(word_rank)
        self.by_spelling = _TrigramIndex(trigram_rank)
        self.words: List[FrozenSet[str]] = []
        self.sizes: List[int] = []
        self.texts: List[str] = []
        self.lengths: List[int] = []
        # Word set -> its oldest group sharing the words, or the number of groups already tried.
        self.word_hits: Dict[FrozenSet[str], int] = {}
        self.word_misses: Dict[FrozenSet[str], int] = {}

    def sharing_words(self, words: FrozenSet[str]) -> Optional[int]:
        """The oldest group whose first message shares `words` (of those proposed)."""
        found = self.word_hits.get(words)
        if found is not None:
            return found
        proposed = self.by_words.candidates(words)[:MAX_CANDIDATES]
        tried = self.word_misses.get(words, 0)  # the groups tried before still do not share them
        group_words, sizes, size = self.words, self.sizes, len(words)
        # Jaccard >= 0.5 in integers: shared >= (|a| + |b| - shared) / 2, i.e. 3 x shared >= |a| + |b|.
        found = next(
            (g for g in proposed[bisect_left(proposed, tried) :] if 3 * len(words & group_words[g]) >= size + sizes[g]),
            None,
        )
        if found is None:
            self.word_misses[words] = len(self.texts)
        else:
            self.word_hits[words] = found
        return found

    def spelled_alike(self, text: str, keys: List[int]) -> Optional[int]:
        """The oldest group whose first message is spelled like `text` (of those its trigram keys propose)."""
        # A ratio >= 0.8 needs lengths within 2/3 and 3/2 of each other: the others are not even passed to C.
        size, lengths = len(text), self.lengths
        low, high = -(-2 * size // 3), 3 * size // 2
        proposed = [g for g in self.by_spelling.candidates(keys)[:MAX_SPELLING_CANDIDATES] if low <= lengths[g] <= high]
        if not proposed:
            return None
        # One call in C over the candidates' spellings.
        texts = itemgetter(*proposed)(self.texts) if len(proposed) > 1 else (self.texts[proposed[0]],)
        hits = process.extract(text, texts, scorer=Indel.normalized_similarity, score_cutoff=INDEL_CUTOFF, limit=None)
        return min((proposed[index] for _, score, index in hits if score >= SIMILAR_SPELLING), default=None)

    def add(self, text: str, words: FrozenSet[str], trigram_keys: List[int]) -> int:
        group = len(self.texts)
        self.texts.append(text)
        self.lengths.append(len(text))
        self.words.append(words)
        self.sizes.append(len(words))
        self.by_words.add(words, group)
        self.by_spelling.add(trigram_keys, group)
        if words:
            self.word_hits[words] = group  # no older group shares them: this one is the oldest
        return group


def _distinct(texts: Sequence[str]) -> Tuple[List[str], List[int]]:
    """The distinct normalised texts, in order of first sight, and the number of each text's own."""
    key_of: Dict[str, int] = {}
    normalised_key: Dict[str, int] = {}
    keys: List[int] = []
    for text in texts:
        key = key_of.get(text)
        if key is None:
            key = key_of[text] = normalised_key.setdefault(normalise(text), len(normalised_key))
        keys.append(key)
    return list(normalised_key), keys


def _trigram_rank(texts: Sequence[str]) -> _Rank:
    step = max(1, math.ceil(len(texts) / RANK_SAMPLE))
    return _Rank(Counter(chain.from_iterable(map(trigrams, texts[::step]))))


def group_indices(texts: Sequence[str]) -> List[int]:
    """The group number of each text (0, 1, ... in order of creation), by `text.are_similar`'s rule."""
    distinct, keys = _distinct(texts)
    word_sets = normalised_content_words_of(distinct)
    groups = _Groups(_Rank(Counter(chain.from_iterable(word_sets))), _trigram_rank(distinct))
    group_of: List[int] = []
    for text, words in zip(distinct, word_sets, strict=True):
        found = groups.sharing_words(words)
        if found is None:
            trigram_keys = groups.by_spelling.keys(trigrams(text))
            found = groups.spelled_alike(text, trigram_keys)
            if found is None:
                found = groups.add(text, words, trigram_keys)
        group_of.append(found)
    return [group_of[key] for key in keys]


def _share_words(a: FrozenSet[str], b: FrozenSet[str]) -> bool:
    return bool(a and b) and len(a & b) >= SIMILAR_WORDS * len(a | b)


def reference_groups(texts: Sequence[str]) -> List[int]:
    """The same rule without index, quadratic: each message against the first message of every group.

    The oracle of the tests and of bench/unanswered.py; never used on real data (1,000 messages: seconds).
    """
    leaders: List[str] = []
    out = []
    for text in texts:
        words = content_words(text)
        found = next((i for i, leader in enumerate(leaders) if _share_words(content_words(leader), words)), None)
        if found is None:
            found = next((i for i, leader in enumerate(leaders) if are_similar(leader, text)), None)
        if found is None:
            found = len(leaders)
            leaders.append(text)
        out.append(found)
    return out
