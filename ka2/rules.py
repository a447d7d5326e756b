"""The user's own case checked against the base's structured rules.

A duration, an amount, a number of partners, the countries of the partners. Pure functions: values are
read from the message, rules from the facts' `rule` fields, and each check returns a verdict with the
values that decide it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .knowledge import KnowledgeBase, euros, rule_values
from .text import words

UNITS = {
    "zero": 0,
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
    "seize": 16,
    "dix sept": 17,
    "dix huit": 18,
    "dix neuf": 19,
    "vingt": 20,
    "trente": 30,
    "quarante": 40,
    "cinquante": 50,
    "soixante": 60,
    "septante": 70,
    "huitante": 80,
    "octante": 80,
    "quatre vingt": 80,
    "quatre vingts": 80,
    "nonante": 90,
    "cent": 100,
    "deux cents": 200,
    "trois cents": 300,
    "quatre cents": 400,
}
_NUMBER_WORD = "|".join(sorted(UNITS, key=len, reverse=True))
# "30", "2,5", "trente", "vingt quatre", "septante".
NUMBER = rf"(\d+(?:[.,]\d+)?|(?:{_NUMBER_WORD})(?: (?:{_NUMBER_WORD}))?)"
DURATION = re.compile(rf"\b{NUMBER} ?(mois|ans?|annees?|jours|semaines)\b")
# "90 000 €", "90.000 euros", "90k", "60 k€", "septante mille euros", "180 000".
AMOUNT = re.compile(
    rf"\b(\d{{1,3}}(?:[ .]\d{{3}})+|\d+|(?:{_NUMBER_WORD})(?: (?:{_NUMBER_WORD}))?)"
    r" ?(k|mille|000)? ?(?:e|eur|euros?|k)?\b"
)
# "un partenaire" names a partner, not a count: counts start at two.
_COUNT = rf"(\d+|(?:{'|'.join(w for w in sorted(UNITS, key=len, reverse=True) if UNITS[w] >= 2)}))"
ORGANISATIONS = re.compile(
    rf"\b{_COUNT} (partenaires?|organisations?|organismes?|assos?|associations?|ecoles?|structures?|pays)\b"
)
# The user asks whether their partnership is big enough ("ça suffit ?", "c'est assez ?").
SUFFICIENCY = re.compile(r"\b(?:suffi\w*|assez|nombre|combien|minimum|mini)\b")
MONTHS_PER_UNIT = {
    "mois": 1.0,
    "an": 12.0,
    "ans": 12.0,
    "annee": 12.0,
    "annees": 12.0,
    "jours": 1 / 30,
    "semaines": 0.25,
}
# "des jeunes de 15 ans" is an age, not a duration.
AGE_BEFORE = re.compile(
    r"\b(?:jeunes|eleves|enfants|ados|adolescent\w*|personnes|adultes|filles|garcons|participants|apprenants|"
    r"etudiants|public|ages?|agees?|entre|plus de|moins de|de \d+ a)(?: de| d| entre)?\s*$"
)
MONTH_NUMBERS = {
    "janvier": 1,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "decembre": 12,
}
# "commencer en janvier 2022", "démarrer début mars", "un début de projet en avril".
START = re.compile(
    r"\b(?:commencer|commence|commenceront|demarrer|demarre|debut\w*|lancer|lance|start\w*)\b[a-z0-9 ]{0,25}?"
    r"\b(?:en|au|le|des|debut|fin|mi|courant|a partir de)?\s*(" + "|".join(MONTH_NUMBERS) + r")(?: (20\d\d))?\b"
)
COORDINATION = re.compile(r"\b(?:coordon\w*|coordinat\w*|porteur|chef de file|candidat principal)\b")


def number_value(token: str) -> Optional[float]:
    token = token.strip()
    if re.fullmatch(r"\d+(?:[.,]\d+)?", token):
        return float(token.replace(",", "."))
    if token in UNITS:
        return float(UNITS[token])
    parts = token.split()
    if len(parts) == 2 and parts[0] in UNITS and parts[1] in UNITS:
        return float(UNITS[parts[0]] + UNITS[parts[1]])  # "vingt quatre", "septante cinq"
    return None


@dataclass(frozen=True)
class Case:
    """What a message says of the user's project."""

    months: Optional[float] = None
    amount: Optional[int] = None
    organisations: Optional[int] = None
    countries: List[str] = field(default_factory=list)
    coordinator: bool = False
    start: Optional[Tuple[Optional[int], int]] = None  # (year or None, month) the project should start


def _amount(text: str, raw: str) -> Optional[int]:
    if "€" not in raw and not re.search(r"\b(?:euros?|eur|k€|k|mille|forfait|subvention|montant|budget)\b", text):
        return None
    for match in AMOUNT.finditer(text):
        digits, multiplier = match.group(1), match.group(2)
        value = number_value(digits.replace(" ", "").replace(".", "")) if digits[0].isdigit() else number_value(digits)
        if value is None:
            continue
        if multiplier in ("k", "mille"):
            value *= 1000
        elif multiplier == "000":
            value *= 1000
        if value >= 1000:
            return int(value)
    return None


def read_case(kb: KnowledgeBase, raw: str) -> Case:
    text = words(raw.replace("€", " euros "))
    months = None
    for found in DURATION.finditer(text):
        value = number_value(found.group(1))
        if value is not None and not AGE_BEFORE.search(text[: found.start()]):
            months = value * MONTHS_PER_UNIT[found.group(2)]
            break
    organisations = None
    counted = ORGANISATIONS.search(text)
    countries = kb.find_mentions("country", raw)
    if counted:
        value = number_value(counted.group(1))
        organisations = int(value) if value is not None else None
    elif SUFFICIENCY.search(text) and any(not kb.entries[c].get("home") for c in countries):
        # "avec une école italienne et une école espagnole, ça suffit ?": the applicant (at home) and one
        # partner per other country named.
        organisations = len([c for c in countries if not kb.entries[c].get("home")]) + 1
    start = None
    found_start = START.search(text)
    if found_start:
        start = (int(found_start.group(2)) if found_start.group(2) else None, MONTH_NUMBERS[found_start.group(1)])
    return Case(months, _amount(text, raw), organisations, countries, bool(COORDINATION.search(text)), start)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    key: str  # the sentence of messages.yml that says it
    values: Dict[str, Any]


def _months_text(months: float) -> str:
    return f"{months:g} mois"


def _rule(kb: KnowledgeBase, action_id: str, attribute: str) -> Dict[str, Any]:
    fact = kb.fact(action_id, attribute)
    return (fact or {}).get("rule") or {}


def check_case(kb: KnowledgeBase, action_id: str, case: Case) -> List[Verdict]:
    """Each value of the case checked against the action's rules; nothing for what the base has no rule on."""
    action = kb.entries[action_id]
    name = action.get("short") or action["label"]
    verdicts: List[Verdict] = []
    duration = _rule(kb, action_id, "duration")
    if case.months is not None and duration:
        low, high = duration["min_months"], duration["max_months"]
        ok = low <= case.months <= high
        verdicts.append(
            Verdict(
                ok,
                "rule_duration_ok" if ok else "rule_duration_no",
                {"action": name, "value": _months_text(case.months), "min": low, "max": high},
            )
        )
    funding = _rule(kb, action_id, "funding")
    if case.amount is not None and funding:
        amounts = funding["amounts"]
        ok = case.amount in amounts
        verdicts.append(
            Verdict(
                ok,
                "rule_amount_ok" if ok else "rule_amount_no",
                {"action": name, "amount": euros(case.amount), "amounts": ", ".join(euros(a) for a in amounts)},
            )
        )
    deadlines = [d for d in _rule(kb, action_id, "deadline").get("deadlines", []) if d.get("start_from")]
    if case.start is not None and deadlines:
        verdicts.append(_check_start(name, deadlines, case.start))
    partners = _rule(kb, action_id, "partners")
    if partners:
        verdicts += _check_countries(kb, name, partners, case)
        if case.organisations is not None:
            # The applicant is established at home (Belgium): its country counts with the partners'.
            home = {c["id"] for c in kb.of_type("country", home=True)}
            countries = len(set(case.countries) | home) if case.countries else None
            enough = case.organisations >= partners["min_organisations"] and (
                countries is None or countries >= partners["min_countries"]
            )
            verdicts.append(
                Verdict(
                    enough,
                    "rule_partners_ok" if enough else "rule_partners_no",
                    {
                        "action": name,
                        "count": case.organisations,
                        "min": partners["min_organisations"],
                        "min_countries": partners["min_countries"],
                    },
                )
            )
    return verdicts


def _in_window(deadline: Dict[str, Any], start: Tuple[Optional[int], int]) -> bool:
    year, month = start
    first = tuple(int(p) for p in deadline["start_from"].split("-")[:2])
    last = tuple(int(p) for p in deadline["start_until"].split("-")[:2])
    years = [year] if year else range(first[0], last[0] + 1)
    return any(first <= (y, month) <= last for y in years)


def _check_start(name: str, deadlines: List[Dict[str, Any]], start: Tuple[Optional[int], int]) -> Verdict:
    """ "On veut commencer en janvier 2022": the deadline whose projects start then, if any."""
    month = list(MONTH_NUMBERS)[start[1] - 1] + (f" {start[0]}" if start[0] else "")
    month = month.replace("fevrier", "février").replace("aout", "août").replace("decembre", "décembre")
    values = rule_values({"deadlines": deadlines})
    for number, deadline in enumerate(deadlines, start=1):
        if _in_window(deadline, start):
            return Verdict(
                True,
                "rule_start_ok",
                {
                    "action": name,
                    "month": month,
                    "deadline": values[f"deadline_{number}"],
                    "window": values[f"start_{number}"],
                },
            )
    windows = " ; ".join(values[f"start_{n}"] for n in range(1, len(deadlines) + 1))
    return Verdict(False, "rule_start_no", {"action": name, "month": month, "windows": windows})


def _check_countries(kb: KnowledgeBase, name: str, partners: Dict[str, Any], case: Case) -> List[Verdict]:
    verdicts = []
    for country_id in case.countries:
        country = kb.entries[country_id]
        values = {
            "action": name,
            "country": country["article"] + country["label"],
            "est": "sont" if country["article"] == "les " else "est",  # "les Pays-Bas sont"
            "note": country.get("note", ""),
        }
        if country["status"] == "programme":
            if not country.get("home"):
                verdicts.append(Verdict(True, "rule_country_programme", values))
        elif not partners.get("partner_countries"):
            verdicts.append(Verdict(False, "rule_country_partner_excluded", values))
        elif case.coordinator:
            verdicts.append(Verdict(False, "rule_country_partner_coordinator", values))
        else:
            verdicts.append(Verdict(True, "rule_country_partner_allowed", values))
    return verdicts


def other_action_fits(kb: KnowledgeBase, action_id: str, case: Case) -> Optional[str]:
    """Another action of the same management whose rules the case meets ("60 000 € l'est en KA210")."""
    management = kb.entries[action_id].get("management")
    for other in kb.of_type("action", management=management):
        if other["id"] != action_id:
            verdicts = check_case(kb, other["id"], case)
            if verdicts and all(v.ok for v in verdicts):
                return str(other["id"])
    return None
