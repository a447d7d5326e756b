"""Rank the knowledge base's priorities against a project description, and say why.

Three signals, all from the knowledge base and fr_core_news_md, deterministic and offline:
- keywords: a priority's `keywords` (and its synonyms) found in the description, by lemma or by
  stem (so "migrants" meets "migrant", "recycler" meets "recyclage"), or as a phrase;
- text: content words the description shares with the priority's own text and label (weaker);
- meaning: the cosine similarity of the description's and the priority's word vectors, which
  catches a related vocabulary that no keyword lists.
Matched user words are returned so the answer can explain itself in the user's own words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from .knowledge import KnowledgeBase, get_knowledge_base
from .text import normalise

SPACY_MODEL = "fr_core_news_md"
KEYWORD_WEIGHT = 1.0
TEXT_WEIGHT = 0.3
MEANING_WEIGHT = 3.0
# Similarity of two unrelated French texts hovers around this value; only the excess counts.
MEANING_BASELINE = 0.45
# At most this many keyword hits count for one priority, so one long list cannot dominate.
MAX_KEYWORD_HITS = 4
STEM_LENGTH = 6
# Below this, the description says too little to choose priorities: the form asks for more.
MIN_CONTENT_WORDS = 3
MIN_SCORE = 1.0
MIN_SECOND_SCORE = 0.5
# Words that say "project" or "education" in general: they match every priority's text.
GENERIC_WORDS = {
    normalise(word)
    for word in (
        "projet programme erasmus partenariat partenaire organisation association asbl structure "
        "vouloir pouvoir faire aller avoir être mettre développer créer organiser proposer permettre "
        "européen europe pays belgique wallonie bruxelles ensemble commun nouveau aide besoin "
        "secteur domaine niveau action activité public personne gens chose idée envie "
        # Words that ask about priorities rather than describe a project.
        "priorité priorités savoir viser choisir aider trouver correspondre éligible cocher dossier candidature "
        "ka2 conseiller analyser rattacher contre lutter lutte "
        # The sector's public: implied by the sector, it says nothing about the priority.
        "jeune jeunes adulte adultes élève élèves étudiant étudiants formation former apprendre"
    ).split()
}


@dataclass(frozen=True)
class PriorityMatch:
    priority_id: str
    score: float
    words: Tuple[str, ...] = ()


@dataclass
class MatchResult:
    matches: List[PriorityMatch]
    content_words: int
    vague: bool


@dataclass
class _Profile:
    """What the matcher knows of one priority."""

    id: str
    keyword_stems: Dict[str, str] = field(default_factory=dict)  # stem -> keyword
    phrases: List[str] = field(default_factory=list)
    text_stems: Set[str] = field(default_factory=set)
    vector: Any = None


def stem(word: str) -> str:
    """A crude, accent-free French stem: enough to join a word's inflections and derivations."""
    return normalise(word)[:STEM_LENGTH]


def load_nlp() -> Any:
    """The French spaCy model, without the parts matching does not use."""
    import spacy

    # The parser and NER are not needed; the lemmatizer needs the morphologizer's POS tags.
    # "strings": the model's 713 000 preloaded strings (130 MB resident) only serve hash-to-text
    # lookups of words never seen in a text; word vectors are found by hash, and a text's own words
    # are added as it is tokenized, so the matches are the same (bench/matcher.py, 150 descriptions).
    return spacy.load(SPACY_MODEL, exclude=["parser", "ner", "senter", "strings"])


class PriorityMatcher:
    def __init__(self, kb: KnowledgeBase, nlp: Any) -> None:
        self.kb = kb
        self.nlp = nlp
        self.sector_stems = _sector_stems(kb)
        self.profiles = {p["id"]: self._profile(p) for p in kb.of_type("priority")}
        self.horizontal_ids = {p["id"] for p in kb.of_type("priority", scope="horizontal")}

    def _content_tokens(self, doc: Any) -> List[Any]:
        return [
            t
            for t in doc
            if t.is_alpha and not t.is_stop and len(t.text) > 2 and normalise(t.lemma_) not in GENERIC_WORDS
        ]

    def _profile(self, priority: Dict[str, Any]) -> _Profile:
        profile = _Profile(priority["id"])
        for keyword in [*priority.get("keywords", []), *priority.get("synonyms", [])]:
            words = normalise(keyword).split()
            if len(words) == 1 and "-" not in keyword:
                profile.keyword_stems.setdefault(stem(words[0]), keyword)
            else:
                profile.phrases.append(normalise(keyword))
        doc = self.nlp(f"{priority['label']}. {priority['text']}")
        content = self._content_tokens(doc)
        profile.text_stems = ({stem(t.lemma_) for t in content} | {stem(t.text) for t in content}) - self.sector_stems
        keywords_doc = self.nlp(" ".join(priority.get("keywords", [])))
        profile.vector = _mean_vector([*content, *self._content_tokens(keywords_doc)])
        return profile

    def match(self, description: str, sector_id: Optional[str], limit: int = 4) -> MatchResult:
        doc = self.nlp(description or "")
        content = self._content_tokens(doc)
        vector = _mean_vector(content)
        text = f" {normalise(description)} "
        scored = []
        for priority in self._candidates(sector_id):
            profile = self.profiles[priority["id"]]
            score, words = _score(profile, doc, content, vector, text)
            if score > 0:
                scored.append(PriorityMatch(profile.id, round(score, 3), words))
        scored.sort(key=lambda m: (-m.score, m.priority_id))
        # The horizontal priorities apply to every sector: keep at most two, ranked with the others.
        best = _top_with_sector_balance(scored, self.horizontal_ids, limit)
        vague = len(content) < MIN_CONTENT_WORDS or not best or best[0].score < MIN_SCORE
        return MatchResult(best if not vague else [], len(content), vague)

    def match_all(self, text: str, limit: int = 6) -> List[PriorityMatch]:
        """Every priority, of every sector, whose words or meaning the text shares, best first.

        What answers "l'assurance qualité, c'est dans quel secteur ?" (several sectors may have it).
        """
        doc = self.nlp(text or "")
        content = self._content_tokens(doc)
        vector = _mean_vector(content)
        normalised = f" {normalise(text)} "
        scored = []
        for priority_id, profile in self.profiles.items():
            score, words = _score(profile, doc, content, vector, normalised)
            if score >= MIN_SECOND_SCORE:
                scored.append(PriorityMatch(priority_id, round(score, 3), words))
        scored.sort(key=lambda m: (-m.score, m.priority_id))
        return scored[:limit]

    def _candidates(self, sector_id: Optional[str]) -> List[Dict[str, Any]]:
        horizontal = self.kb.of_type("priority", scope="horizontal")
        own = self.kb.of_type("priority", scope=sector_id) if sector_id else []
        return [*own, *horizontal]


def _sector_stems(kb: KnowledgeBase) -> Set[str]:
    """Stems of the one-word names of the sectors ("sport", "jeunesse", "écoles").

    A priority's text that lists the sectors it serves ("la jeunesse et le sport") says nothing of a
    project's theme, and the sector is asked separately: these words never count as shared text.
    """
    names = [name for sector in kb.of_type("sector") for name in [sector["label"], *sector.get("synonyms", [])]]
    return {stem(name) for name in names if len(normalise(name).split()) == 1}


def _mean_vector(tokens: Sequence[Any]) -> Any:
    import numpy

    vectors = [t.vector for t in tokens if t.has_vector]
    return numpy.mean(vectors, axis=0) if vectors else None


def _cosine(a: Any, b: Any) -> float:
    import numpy

    if a is None or b is None:
        return 0.0
    norm = float(numpy.linalg.norm(a) * numpy.linalg.norm(b))
    return float(numpy.dot(a, b) / norm) if norm else 0.0


def _original_span(doc: Any, phrase: str) -> str:
    """The user's own wording of a matched phrase ("primo-arrivantes" for "primo arrivant")."""
    tokens = [t for t in doc if normalise(t.text)]
    for start in range(len(tokens)):
        joined = ""
        for end in range(start, len(tokens)):
            joined = f"{joined} {normalise(tokens[end].text)}".strip()
            if joined.startswith(phrase):
                return str(doc.text[tokens[start].idx : tokens[end].idx + len(tokens[end].text)]).lower()
            if not phrase.startswith(joined):
                break
    return phrase


def _score(
    profile: _Profile, doc: Any, content: Sequence[Any], vector: Any, text: str
) -> Tuple[float, Tuple[str, ...]]:
    keyword_words: List[str] = []
    text_words: List[str] = []
    for token in content:
        # "mini-entreprise", "éco-citoyen": each part of a compound counts too.
        stems = {stem(token.lemma_), stem(token.text)} | {stem(part) for part in token.text.split("-") if len(part) > 2}
        if stems & profile.keyword_stems.keys():
            keyword_words.append(token.text.lower())
        elif stems & profile.text_stems:
            text_words.append(token.text.lower())
    # A phrase matches from a word start, with any ending ("stages en entreprises", "primo-arrivantes").
    phrases = [_original_span(doc, p) for p in profile.phrases if f" {p}" in text]
    keyword_words = _unique([*phrases, *keyword_words])
    text_words = [w for w in _unique(text_words) if w not in keyword_words]
    hits = min(len(keyword_words), MAX_KEYWORD_HITS)
    meaning = max(0.0, _cosine(vector, profile.vector) - MEANING_BASELINE)
    score = KEYWORD_WEIGHT * hits + TEXT_WEIGHT * min(len(text_words), MAX_KEYWORD_HITS) + MEANING_WEIGHT * meaning
    # Shown to the user: a word already inside a matched phrase is not repeated.
    shown = [w for w in keyword_words + text_words if not any(w != p and w in p.split() for p in phrases)]
    return score, tuple(shown)[:MAX_KEYWORD_HITS]


def _unique(words: Sequence[str]) -> List[str]:
    seen: Dict[str, None] = {}
    for word in words:
        seen.setdefault(word, None)
    return list(seen)


def _top_with_sector_balance(scored: List[PriorityMatch], horizontal_ids: Set[str], limit: int) -> List[PriorityMatch]:
    chosen: List[PriorityMatch] = []
    horizontal = 0
    for match in scored:
        is_horizontal = match.priority_id in horizontal_ids
        if is_horizontal and horizontal >= 2:
            continue
        # Two matches when there are two; beyond two, only those reasonably close to the best one.
        if match.score < MIN_SECOND_SCORE or (len(chosen) >= 2 and match.score < chosen[0].score * 0.3):
            break
        chosen.append(match)
        horizontal += is_horizontal
        if len(chosen) == limit:
            break
    return chosen


@lru_cache(maxsize=1)
def get_matcher() -> PriorityMatcher:
    """One matcher (and one spaCy pipeline) per process."""
    return PriorityMatcher(get_knowledge_base(), load_nlp())
