"""Rank the knowledge base's answers for a question, as staff type it (`ka2-staff search`).

Uses the knowledge base's own words: labels, synonyms, keywords, codes and answer texts, compared
with ka2.knowledge.normalise, so what matches is what the assistant itself recognises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List

from ka2.knowledge import KnowledgeBase, normalise
from ka2.wording import body, source_line

from .text import content_words

# Weights: a whole synonym or keyword in the question says most, a label word more than a word of
# the answer's text.
PHRASE_WEIGHT = 2.0
LABEL_WORD_WEIGHT = 3.0
TEXT_WORD_WEIGHT = 1.0
# The action a fact is about lends its names at this share (a fact names no code itself), in full
# when the question asks for the fact's attribute.
ABOUT_SHARE = 0.5
DEFAULT_LIMIT = 5
# On equal scores, a general answer comes before the entries it introduces.
TYPE_ORDER = ["topic", "fact", "action", "sector", "agency", "priority", "activity", "community", "country"]
# How people ask for each fact attribute (facts carry no synonyms of their own). A cleaner home
# would be `keywords` on the fact entries in knowledge/facts.yml.
ATTRIBUTE_WORDS = {
    "funding": "montant argent budget subvention financement forfait euros financer finance",
    "duration": "duree longtemps mois durer",
    "partners": "partenaires partenaire organisations minimum combien",
    "deadline": "date limite quand delai echeance deposer avant",
    "eligibility": "qui eligible candidat candidater participer",
    "selection": "selection seuil points evaluation criteres note",
}
ATTRIBUTE_WEIGHT = 3.0


@dataclass(frozen=True)
class SearchHit:
    entry_id: str
    label: str
    score: float
    answer: str
    source: str
    file: str


def _forms(entry: Dict[str, Any]) -> List[str]:
    names = [entry["label"], entry.get("button", "")]
    for key in ("synonyms", "keywords", "codes"):
        names += entry.get(key, [])
    return [n for n in names if n]


def phrase_score(question: str, forms: Iterable[str]) -> float:
    """The longest label, synonym or keyword found whole in the question, by its word count."""
    padded = f" {normalise(question)} "
    found = [len(form.split()) for form in map(normalise, forms) if form and f" {form} " in padded]
    return PHRASE_WEIGHT * (1 + max(found)) if found else 0.0


def score_entry(kb: KnowledgeBase, entry: Dict[str, Any], question: str) -> float:
    words = content_words(question)
    label_words = content_words(" ".join([entry["label"], entry.get("button", "")]))
    text_words = content_words(body(kb, entry))
    score = phrase_score(question, _forms(entry))
    score += LABEL_WORD_WEIGHT * len(words & label_words)
    score += TEXT_WORD_WEIGHT * len(words & (text_words - label_words))
    asks_attribute = bool(words & content_words(ATTRIBUTE_WORDS.get(entry.get("attribute", ""), "")))
    if asks_attribute:
        score += ATTRIBUTE_WEIGHT
    about = kb.get(entry.get("about", ""))
    if about:
        # A question on the fact's attribute names the action for the fact, not for the action.
        score += (1.0 if asks_attribute else ABOUT_SHARE) * phrase_score(question, _forms(about))
    return score


def plain(text: str) -> str:
    """The answer without its Markdown bold, ready to paste into an email."""
    return text.replace("**", "").strip()


def rank_answers(kb: KnowledgeBase, question: str, limit: int = DEFAULT_LIMIT) -> List[SearchHit]:
    """The best-matching entries, best first, with the text and source line the assistant gives."""
    scored = [(score_entry(kb, entry, question), entry) for entry in kb.entries.values()]
    scored = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], TYPE_ORDER.index(s[1]["type"]), s[1]["id"]))
    return [
        SearchHit(
            entry_id=entry["id"],
            label=entry["label"],
            score=score,
            answer=plain(body(kb, entry)),
            source=source_line(kb, entry),
            file=f"knowledge/{kb.files[entry['id']]}",
        )
        for score, entry in scored[:limit]
    ]
