"""Words of a French message, for ranking answers and grouping similar questions."""

from __future__ import annotations

import re
from typing import FrozenSet, Iterable, List

from rapidfuzz.distance import Indel

from ka2.text import normalise

# Function words and question words: they say nothing about what is asked.
STOPWORDS = frozenset(
    normalise(word)
    for word in (
        "a à au aux avec ce ces cet cette c ça ca comment combien d dans de des du elle elles en est et "
        "être etre il ils j je l la le les leur leurs lui m ma mais me mes moi mon n ne ni nos notre nous "
        "on ou où par pas peut pour qu quand que quel quelle quelles quels qui quoi s sa sans se ses si "
        "son sont sur t ta te tes toi ton tu un une vos votre vous y faut faire fait est-ce svp merci "
        "bonjour bonsoir salut exactement c'est qu'est quelqu'un"
    ).split()
)
WORD = re.compile(r"[a-z0-9+]+")
SIMILAR_WORDS = 0.5
SIMILAR_SPELLING = 0.8


# Verb endings, then plural and feminine ones, longest first.
ENDINGS = ("ent", "er", "ez", "es", "s", "x", "e")


def stem(word: str) -> str:
    """A crude French stem: 'priorités' meets 'priorite', 'participent' meets 'participer'."""
    for ending in ENDINGS:
        if len(word) - len(ending) >= 4 and word.endswith(ending):
            return word[: -len(ending)]
    return word


def content_words(text: str) -> FrozenSet[str]:
    """Stems of the words of `text` that carry meaning (normalised, stop words out)."""
    return normalised_content_words(normalise(text))


def normalised_content_words(normalised: str) -> FrozenSet[str]:
    """`content_words` of a text already normalised."""
    words = WORD.findall(normalised.replace("'", " "))
    return frozenset(stem(w) for w in words if w not in STOPWORDS and len(w) > 1)


# What `_StemOf` gives a word that is no content word, taken out of each set.
_NO_WORD = frozenset([""])


class _StemOf(dict):
    """Word -> its stem, or "" for a stop word or a single letter: worked out on first sight only."""

    def __missing__(self, word: str) -> str:
        found = self[word] = "" if word in STOPWORDS or len(word) <= 1 else stem(word)
        return found


def normalised_content_words_of(texts: Iterable[str]) -> List[FrozenSet[str]]:
    """`normalised_content_words` of many normalised texts, each distinct word stemmed once.

    Grouping 100,000 messages stems the same few thousand words again and again: a lookup is cheaper.
    """
    stem_of = _StemOf()
    out = []
    for text in texts:
        found = frozenset(map(stem_of.__getitem__, WORD.findall(text.replace("'", " "))))
        out.append(found - _NO_WORD if "" in found else found)
    return out


def spelling_similarity(a: str, b: str) -> float:
    """2 x longest common subsequence / total length of two normalised texts (1.0: identical).

    rapidfuzz's Indel ratio, in C: difflib's SequenceMatcher gave about the same figure, a little
    lower (its matching blocks are a common subsequence, not always the longest), 50 times slower.
    """
    return Indel.normalized_similarity(a, b)


def similarity(a: str, b: str) -> float:
    """How alike two messages are: shared content words, or near-identical spelling (typos)."""
    words_a, words_b = content_words(a), content_words(b)
    shared = len(words_a & words_b) / len(words_a | words_b) if words_a and words_b else 0.0
    spelling = spelling_similarity(normalise(a), normalise(b))
    return max(shared, spelling if spelling >= SIMILAR_SPELLING else 0.0)


def are_similar(a: str, b: str) -> bool:
    return similarity(a, b) >= SIMILAR_WORDS
