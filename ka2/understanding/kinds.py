"""Question kinds.

What a message asks (a duration, where to submit, a count...), from the cues of
knowledge/understanding.yml. Pure functions over the normalised words of the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence

from ..text import words


@dataclass(frozen=True)
class KindCues:
    kind: str
    strong: re.Pattern[str]
    weak: re.Pattern[str] | None


def compile_cues(spec: Mapping[str, Mapping[str, Sequence[str]]]) -> List[KindCues]:
    """One pattern per kind and strength; raises re.error naming nothing (the loader names the field)."""
    compiled = []
    for kind, cues in spec.items():
        strong = "|".join(f"(?:{c})" for c in cues.get("strong") or []) or "(?!x)x"
        weak = "|".join(f"(?:{c})" for c in cues.get("weak") or [])
        compiled.append(
            KindCues(kind, re.compile(rf"\b(?:{strong})\b"), re.compile(rf"\b(?:{weak})\b") if weak else None)
        )
    return compiled


@dataclass(frozen=True)
class KindScan:
    strong: List[str]  # kinds with a strong cue, in the order of knowledge/understanding.yml
    weak: List[str]
    positions: Dict[str, int]  # kind -> character offset of its first strong cue in the normalised words


def scan_kinds(cues: Sequence[KindCues], text: str) -> KindScan:
    normalised = words(text)
    strong: List[str] = []
    weak: List[str] = []
    positions: Dict[str, int] = {}
    for cue in cues:
        found = cue.strong.search(normalised)
        if found:
            strong.append(cue.kind)
            positions[cue.kind] = found.start()
        elif cue.weak is not None and cue.weak.search(normalised):
            weak.append(cue.kind)
    return KindScan(strong, weak, positions)


ORDINALS = {
    "premiere": 0,
    "premier": 0,
    "1ere": 0,
    "1er": 0,
    "un": 0,
    "1": 0,
    "deuxieme": 1,
    "2eme": 1,
    "2e": 1,
    "seconde": 1,
    "second": 1,
    "deux": 1,
    "2": 1,
    "troisieme": 2,
    "3eme": 2,
    "3e": 2,
    "trois": 2,
    "3": 2,
    "quatrieme": 3,
    "4eme": 3,
    "4e": 3,
    "quatre": 3,
    "4": 3,
    "cinquieme": 4,
    "5eme": 4,
    "5e": 4,
    "cinq": 4,
    "5": 4,
    "sixieme": 5,
    "6eme": 5,
    "6e": 5,
    "six": 5,
    "6": 5,
    "septieme": 6,
    "7eme": 6,
    "7e": 6,
    "sept": 6,
    "7": 6,
    "derniere": -1,
    "dernier": -1,
    "avant derniere": -2,
    "avant dernier": -2,
}
_ORDINAL = re.compile(
    r"\b(?:(?:la|le|l|et la|et le|et l|numero)\s+)(" + "|".join(sorted(ORDINALS, key=len, reverse=True)) + r")\b"
    r"|^(?:et\s+)?("
    + "|".join(
        k for k in ORDINALS if not k.isdigit() and k not in {"un", "deux", "trois", "quatre", "cinq", "six", "sept"}
    )
    + r")\b"
)


def ordinal_index(text: str) -> int | None:
    """0 for "la première", 1 for "et la deuxième ?", -1 for "la dernière"; None when none is named."""
    found = _ORDINAL.search(words(text))
    if not found:
        return None
    return ORDINALS[found.group(1) or found.group(2)]
