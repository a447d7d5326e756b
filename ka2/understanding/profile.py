"""What users say about themselves and their project.

The sector the project's impact targets (which may differ from the organisation's type), their
community, a small or new organisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ..knowledge import KnowledgeBase
from ..text import words
from .entities import mention_positions

# Words after which a sector names the project's public, not the organisation ("le projet vise
# surtout des profs", "mais l'impact est sur les jeunes", "pour des adultes").
IMPACT_CUES = re.compile(
    r"\b(?:vise\w*|cible\w*|public|impact|beneficiaires?|s adresse\w*|concerne\w*|porte sur|destine\w*|"
    r"pour des|pour les|aupres des|touche\w*|mais|plutot|surtout)\b"
)
# Words by which users present themselves or their organisation.
SELF_CUES = re.compile(
    r"\b(?:je suis|j suis|jsuis|je travaille|je bosse|j bosse|on est|nous sommes|notre|nos|mon|ma|"
    r"on bosse|on travaille|je fais partie|je represente|chez nous|i work|we are)\b"
)
SMALL_CUES = re.compile(
    r"\b(?:petite (?:asbl|structure|association|organisation|asso|ecole|equipe)|petites? structures?|"
    r"jamais fait d erasmus|jamais participe|premier projet|premiere fois|debutants?|nouveaux? (?:venus?|dans)|"
    r"peu d experience|sans experience|pas d experience|nouvelle organisation|nouvelle asbl)\b"
)


@dataclass(frozen=True)
class ProfileFacts:
    """What one message says; None where it says nothing."""

    organisation_sector: Optional[str] = None
    impact_sector: Optional[str] = None
    community: Optional[str] = None
    small: bool = False


def read_profile(kb: KnowledgeBase, text: str) -> ProfileFacts:
    normalised = words(text)
    mentions = mention_positions(kb, "sector", text)
    impact: Optional[str] = None
    organisation: Optional[str] = None
    if mentions:
        # Character offset -> word index of the last impact cue.
        cue_words = [len(normalised[: m.start()].split()) for m in IMPACT_CUES.finditer(normalised)]
        after = [sector for index, sector in mentions if cue_words and index >= cue_words[-1]]
        before = [sector for index, sector in mentions if not cue_words or index < cue_words[-1]]
        if after:
            impact = after[0]
            organisation = before[0] if before else None
        else:
            organisation = mentions[0][1] if SELF_CUES.search(normalised) else None
    communities = mention_positions(kb, "community", text)
    community = communities[0][1] if communities else None
    return ProfileFacts(
        organisation_sector=organisation,
        impact_sector=impact,
        community=community,
        small=bool(SMALL_CUES.search(normalised)),
    )
