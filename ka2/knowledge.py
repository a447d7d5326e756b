"""Load and validate the knowledge base (`knowledge/`): the only code that reads those files.

The base is validated as a whole before anything serves users: a malformed file, a missing field or
a dangling reference raises `KnowledgeError` naming the file, the entry and the field.
"""

from __future__ import annotations

import functools
import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple, cast

import jsonschema
import yaml

from . import settings
from .text import normalise, words
from .understanding.kinds import KindCues, compile_cues

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_KNOWLEDGE_DIR = REPO_ROOT / "knowledge"
SCHEMA_FILE = "schema.yml"
SOURCES_FILE = "sources.yml"
MESSAGES_FILE = "messages.yml"
UNDERSTANDING_FILE = "understanding.yml"

# The id prefix each entry type must use, so an id says what it names.
ID_PREFIX = {
    "topic": "topic",
    "action": "action",
    "fact": "fact",
    "priority": "priority",
    "sector": "sector",
    "agency": "agency",
    "activity": "activity",
    "community": "community",
    "country": "country",
}
# Buttons carry '/ask_topic{"topic":"<id>"}'; Telegram limits callback data to 64 bytes.
BUTTON_PAYLOAD_LIMIT = 64
# Entity types the NLU extracts, and the entries whose synonyms feed them.
ENTITY_ENTRY_TYPES = {
    "sector": "sector",
    "action_type": "action",
    "theme": "priority",
    "activity": "activity",
    "agency": "agency",
    "management": "topic",
    "community": "community",
    "country": "country",
    # Applicants with an agency of their own whatever their sector ("ONG européenne" -> EACEA).
    "applicant": "topic",
}


def entity_entries(kb: KnowledgeBase, entity: str) -> List[Dict[str, Any]]:
    """The entries an entity can name (`management` names the topics that list actions by management)."""
    entries = kb.of_type(ENTITY_ENTRY_TYPES[entity])
    if entity == "management":
        entries = [e for e in entries if "management" in e.get("lists", {})]
    if entity == "applicant":
        entries = [e for e in entries if "agency" in e]
    return entries


class KnowledgeError(Exception):
    """A knowledge file that cannot be served, with where the problem is."""

    def __init__(self, file: str, message: str, entry: str = "", field_name: str = ""):
        self.file, self.entry, self.field, self.message = file, entry, field_name, message
        where = [f"knowledge/{file}"]
        if entry:
            where.append(f"entry '{entry}'")
        if field_name:
            where.append(f"field '{field_name}'")
        super().__init__(f"{', '.join(where)}: {message}")


def topic_payload(entry_id: str) -> str:
    return "/ask_topic" + json.dumps({"topic": entry_id}, separators=(",", ":"))


@dataclass
class KnowledgeBase:
    entries: Dict[str, Dict[str, Any]]
    sources: Dict[str, Dict[str, Any]]
    messages: Dict[str, str] = field(default_factory=dict)
    files: Dict[str, str] = field(default_factory=dict)  # entry id -> file it came from
    cues: List[KindCues] = field(default_factory=list)  # question kinds (understanding.yml)
    role_names: Tuple[str, ...] = ()  # the roles schema.yml declares, each held by one entry

    def __hash__(self) -> int:  # one base per process; identity is what caches need
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    @functools.cached_property
    def national_agencies(self) -> Tuple[str, ...]:
        """The agencies a community routes to by sector (BIJ, AEF-Europe...), as opposed to the EACEA.

        In file order: where no agency is named, answers list them in this order.
        """
        return tuple(dict.fromkeys(a for c in self.of_type("community") for a in c["agency_for"]))

    @functools.cached_property
    def roles(self) -> Dict[str, Dict[str, Any]]:
        """Role name -> the entry that plays it (its `role` field)."""
        return {e["role"]: e for e in self.entries.values() if "role" in e}

    def role(self, name: str) -> Dict[str, Any]:
        """The entry playing `name` ("where_submit", "executive_agency"...): code names roles, never ids."""
        if name not in self.role_names:
            raise KeyError(f"role '{name}' is not declared in knowledge/{SCHEMA_FILE}")
        return self.roles[name]

    def topic_for_kind(self, kind: str) -> Optional[Dict[str, Any]]:
        return next((e for e in self.entries.values() if e.get("kind") == kind), None)

    def with_article(self, preposition: str, agency_id: str) -> str:
        """ "auprès du BIJ", "de l'AEF-Europe", "à l'EACEA": the contraction French makes."""
        agency = self.entries[agency_id]
        article, name = agency["article"], agency["short"]
        if article == "le ":
            if preposition.endswith(" de") or preposition == "de":
                return f"{preposition[:-2]}du {name}".strip()
            if preposition.endswith(" à") or preposition == "à":
                return f"{preposition[:-1]}au {name}".strip()
        if not article and (preposition.endswith(" de") or preposition == "de") and name[0].lower() in "aeiouyéh":
            return f"{preposition[:-2]}d'{name}".strip()  # "auprès d'Epos"
        return f"{preposition} {article}{name}".strip()

    def say(self, key: str, **values: Any) -> str:
        """A sentence from messages.yml with its placeholders filled.

        `{entry[<id>][<field>]}` is an entry's field ("{entry[agency.bij][website]}"): the message names
        the entry, so the loader checks the reference, and code need not.
        """
        return self.messages[key].format(entry=self.entries, **values)

    def get(self, entry_id: str) -> Optional[Dict[str, Any]]:
        return self.entries.get(entry_id)

    def of_type(self, entry_type: str, **filters: Any) -> List[Dict[str, Any]]:
        """Entries of one type, in file order, whose fields equal the given filters."""
        return [
            e
            for e in self.entries.values()
            if e["type"] == entry_type and all(e.get(k) == v for k, v in filters.items())
        ]

    def topic_for_intent(self, intent: str) -> Optional[Dict[str, Any]]:
        return next((e for e in self.entries.values() if e.get("intent") == intent), None)

    def fact(self, about: str, attribute: str) -> Optional[Dict[str, Any]]:
        found = self.of_type("fact", about=about, attribute=attribute)
        return found[0] if found else None

    def listed(self, entry: Dict[str, Any]) -> List[Dict[str, Any]]:
        """The entries a topic introduces with `lists`."""
        if "lists" not in entry:
            return []
        spec = dict(entry["lists"])
        return self.of_type(spec.pop("type"), **spec)

    @functools.cached_property
    def years(self) -> List[int]:
        """The calls (years) the entries describe."""
        return sorted({e["year"] for e in self.entries.values() if isinstance(e.get("year"), int)})

    @functools.cached_property
    def synonym_index(self) -> Dict[str, Dict[str, str]]:
        """Entity name -> normalised surface form -> entry id."""
        index: Dict[str, Dict[str, str]] = {}
        for entity in ENTITY_ENTRY_TYPES:
            forms = index.setdefault(entity, {})
            for entry in entity_entries(self, entity):
                for form in [entry["label"], *entry.get("synonyms", [])]:
                    forms.setdefault(normalise(form), entry["id"])
        return index

    def resolve(self, entity: str, value: Optional[str]) -> Optional[str]:
        """Map an extracted entity value (an id or any surface form) to an entry id."""
        if not value:
            return None
        if value in self.entries:
            return value
        return self.synonym_index.get(entity, {}).get(normalise(value))

    @functools.cached_property
    def mention_forms(self) -> Dict[str, List[Tuple[str, str]]]:
        """Entity name -> (synonym as words, entry id), longest first: what find_mentions looks for."""
        return {
            entity: sorted(((words(form), entry_id) for form, entry_id in forms.items()), key=lambda kv: -len(kv[0]))
            for entity, forms in self.synonym_index.items()
        }

    def find_mentions(self, entity: str, text: str) -> List[str]:
        """Entry ids whose synonyms appear in `text` as whole words, longest match first.

        Words, not characters: "des ados," and "d'éducation permanente" name their sectors too.
        """
        padded = f" {words(text)} "
        hits: List[str] = []
        for form, entry_id in self.mention_forms.get(entity, []):
            if form and f" {form} " in padded:
                padded = padded.replace(f" {form} ", " | ")
                if entry_id not in hits:
                    hits.append(entry_id)
        return hits


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as error:
        raise KnowledgeError(path.name, f"cannot be read ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise KnowledgeError(path.name, f"is not valid YAML{line}") from None


def _schema_error(file: str, entries: List[Any], error: jsonschema.ValidationError) -> KnowledgeError:
    path = list(error.absolute_path)
    index = path[0] if path and isinstance(path[0], int) else None
    entry = entries[index] if index is not None else None
    entry_id = str(entry.get("id", f"#{index + 1}")) if isinstance(entry, dict) and index is not None else f"#{index}"
    field_name = ".".join(str(p) for p in path[1:])
    if error.validator == "required":
        missing = [f for f in error.validator_value if not (isinstance(entry, dict) and f in entry)]
        field_name = ".".join(filter(None, [field_name, missing[0] if missing else ""]))
        return KnowledgeError(file, "is required but missing", entry_id, field_name)
    if error.validator == "additionalProperties":
        return KnowledgeError(file, f"unknown field ({error.message})", entry_id, field_name)
    return KnowledgeError(file, error.message, entry_id, field_name)


def _check_references(kb: KnowledgeBase) -> None:
    def need(entry: Dict[str, Any], field_name: str, target: str, types: Iterable[str]) -> None:
        found = kb.entries.get(target)
        if found is None or found["type"] not in types:
            raise KnowledgeError(
                kb.files[entry["id"]],
                f"refers to '{target}', which is not a {' or '.join(types)} entry",
                entry["id"],
                field_name,
            )

    all_types = list(ID_PREFIX)
    for entry in kb.entries.values():
        entry_id, file = entry["id"], kb.files[entry["id"]]
        if entry_id.split(".")[0] != ID_PREFIX[entry["type"]]:
            raise KnowledgeError(file, f"must start with '{ID_PREFIX[entry['type']]}.'", entry_id, "id")
        if entry["source"]["ref"] not in kb.sources:
            raise KnowledgeError(file, f"unknown source '{entry['source']['ref']}'", entry_id, "source.ref")
        for other in entry["source"].get("also", []):
            if other not in kb.sources:
                raise KnowledgeError(file, f"unknown source '{other}'", entry_id, "source.also")
        if len(topic_payload(entry_id).encode()) > BUTTON_PAYLOAD_LIMIT:
            raise KnowledgeError(
                file, f"is too long for a button payload ({BUTTON_PAYLOAD_LIMIT} bytes)", entry_id, "id"
            )
        for target in entry.get("related", []):
            need(entry, "related", target, all_types)
        for target in entry.get("managed_by", []):
            need(entry, "managed_by", target, ["agency"])
        if "about" in entry:
            need(entry, "about", entry["about"], ["action"])
        if "agency" in entry:
            need(entry, "agency", entry["agency"], ["agency"])
        for source_agency, target in entry.get("agency_for", {}).items():
            need(entry, "agency_for", source_agency, ["agency"])
            need(entry, f"agency_for.{source_agency}", target, ["agency"])
        if "kind" in entry and entry["kind"] not in {c.kind for c in kb.cues}:
            raise KnowledgeError(file, f"unknown question kind '{entry['kind']}'", entry_id, "kind")
        if entry["type"] == "priority" and entry["scope"] != "horizontal":
            need(entry, "scope", entry["scope"], ["sector"])
        if entry.get("lists", {}).get("scope") not in (None, "horizontal"):
            need(entry, "lists.scope", entry["lists"]["scope"], ["sector"])
    _holders(kb, "intent", "answered")


def _holders(kb: KnowledgeBase, field_name: str, verb: str) -> Dict[str, str]:
    """Value of `field_name` -> the one entry holding it; a second holder stops the load."""
    holders: Dict[str, str] = {}
    for entry in kb.entries.values():
        value = entry.get(field_name)
        if value is None:
            continue
        if value in holders:
            message = f"{field_name} '{value}' is already {verb} by '{holders[value]}'"
            raise KnowledgeError(kb.files[entry["id"]], message, entry["id"], field_name)
        holders[value] = entry["id"]
    return holders


def _check_roles(kb: KnowledgeBase) -> None:
    """Each role schema.yml declares is played by exactly one entry."""
    holders = _holders(kb, "role", "played")
    for name in kb.role_names:
        if name not in holders:
            raise KnowledgeError(SCHEMA_FILE, f"no entry plays the role '{name}'", field_name="role")


def _check_message_references(kb: KnowledgeBase) -> None:
    """`{entry[<id>][<field>]}` in a message names an entry of the base that has that field."""
    for key, text in kb.messages.items():
        for _, name, _, _ in string.Formatter().parse(text):
            if not name or not name.startswith("entry["):
                continue
            parts = re.findall(r"\[([^\]]+)\]", name)
            target = kb.entries.get(parts[0]) if parts else None
            if target is None or any(p not in target for p in parts[1:2]):
                raise KnowledgeError(
                    MESSAGES_FILE, f"refers to '{'.'.join(parts)}', which the base lacks", field_name=f"messages.{key}"
                )


def _check_synonyms(kb: KnowledgeBase) -> None:
    """One surface form names one entry: Rasa's synonym mapper is global across entities."""
    seen: Dict[str, str] = {}
    for entity in ENTITY_ENTRY_TYPES:
        for entry in entity_entries(kb, entity):
            for form in [entry["label"], *entry.get("synonyms", [])]:
                key = normalise(form)
                if seen.get(key, entry["id"]) != entry["id"]:
                    raise KnowledgeError(
                        kb.files[entry["id"]],
                        f"synonym '{form}' already names '{seen[key]}'",
                        entry["id"],
                        "synonyms",
                    )
                seen[key] = entry["id"]


def _load_cues(directory: Path) -> List[KindCues]:
    """The question kinds' cues, each regular expression checked before anything serves users."""
    doc = _read_yaml(directory / UNDERSTANDING_FILE)
    kinds = doc.get("kinds") if isinstance(doc, dict) else None
    if not isinstance(kinds, dict) or not kinds:
        raise KnowledgeError(UNDERSTANDING_FILE, "must hold a 'kinds' mapping", field_name="kinds")
    for kind, cues in kinds.items():
        if not isinstance(cues, dict) or not isinstance(cues.get("strong"), list):
            raise KnowledgeError(UNDERSTANDING_FILE, "must hold a 'strong' list", field_name=f"kinds.{kind}")
        for strength in ("strong", "weak"):
            for index, cue in enumerate(cues.get(strength) or []):
                try:
                    re.compile(str(cue))
                except re.error as error:
                    field_name = f"kinds.{kind}.{strength}[{index}]"
                    raise KnowledgeError(
                        UNDERSTANDING_FILE, f"is not a valid regular expression ({error})", field_name=field_name
                    ) from None
    return compile_cues(kinds)


def euros(amount: int) -> str:
    """120000 -> "120 000 €", as the answers write amounts."""
    return f"{amount:,}".replace(",", " ") + " €"


MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()


def french_date(iso: str) -> str:
    """ "2021-11-01" -> "1er novembre 2021"."""
    year, month, day = (int(part) for part in iso.split("-"))
    return f"{'1er' if day == 1 else day} {MONTHS[month - 1]} {year}"


def rule_values(rule: Dict[str, Any]) -> Dict[str, str]:
    """A fact's rule as the words its answer uses.

    {amounts} -> "120 000 €, 250 000 € ou 400 000 €", {deadline_1} -> "20 mai 2021 à 12 h", {start_1} ->
    "entre le 1er novembre 2021 et le 28 février 2022".
    """
    values = {key: str(value) for key, value in rule.items() if isinstance(value, int) and not isinstance(value, bool)}
    if rule.get("amounts"):
        amounts = [euros(a) for a in rule["amounts"]]
        values["amounts"] = amounts[0] if len(amounts) == 1 else ", ".join(amounts[:-1]) + " ou " + amounts[-1]
    for number, deadline in enumerate(rule.get("deadlines", []), start=1):
        time = f" à {deadline['time']}" if deadline.get("time") else ""
        values[f"deadline_{number}"] = french_date(deadline["date"]) + time
        if deadline.get("start_from") and deadline.get("start_until"):
            values[f"start_{number}"] = (
                f"entre le {french_date(deadline['start_from'])} et le {french_date(deadline['start_until'])}"
            )
    return values


def _render_rules(kb: KnowledgeBase) -> None:
    """A value is written once, in the fact's `rule`; its answer names it by placeholder ({max_months})."""
    for entry in kb.entries.values():
        if "rule" not in entry:
            continue
        values = rule_values(entry["rule"])
        try:
            entry["answer"] = entry["answer"].format(**values)
            if entry.get("sub_items"):
                entry["sub_items"] = [item.format(**values) for item in entry["sub_items"]]
        except (KeyError, IndexError, ValueError) as error:
            raise KnowledgeError(
                kb.files[entry["id"]], f"placeholder {error} is not a value of the rule", entry["id"], "answer"
            ) from None


def load_knowledge_base(directory: Path = DEFAULT_KNOWLEDGE_DIR) -> KnowledgeBase:
    """Read, validate and index every knowledge file, or raise KnowledgeError."""
    directory = Path(directory)
    schema = _read_yaml(directory / SCHEMA_FILE)
    entry_validator = jsonschema.Draft7Validator({**schema["entry"], "definitions": schema["definitions"]})
    sources_doc = _read_yaml(directory / SOURCES_FILE)
    if not isinstance(sources_doc, dict) or not isinstance(sources_doc.get("sources"), list):
        raise KnowledgeError(SOURCES_FILE, "must hold a 'sources' list", field_name="sources")
    sources: Dict[str, Dict[str, Any]] = {
        cast(str, s.get("id")): s for s in sources_doc["sources"] if isinstance(s, dict)
    }
    messages_doc = _read_yaml(directory / MESSAGES_FILE)
    messages = messages_doc.get("messages") if isinstance(messages_doc, dict) else None
    if not isinstance(messages, dict) or not messages:
        raise KnowledgeError(MESSAGES_FILE, "must hold a 'messages' mapping", field_name="messages")
    for key, text in messages.items():
        if not isinstance(text, str) or not text.strip():
            raise KnowledgeError(MESSAGES_FILE, "must be a non-empty sentence", field_name=f"messages.{key}")
    role_names = tuple(schema["entry"]["properties"].get("role", {}).get("enum", []))
    kb = KnowledgeBase(
        entries={}, sources=sources, messages=messages, cues=_load_cues(directory), role_names=role_names
    )
    reserved = (SCHEMA_FILE, SOURCES_FILE, MESSAGES_FILE, UNDERSTANDING_FILE)
    files = sorted(p for p in directory.glob("*.yml") if p.name not in reserved)
    if not files:
        raise KnowledgeError(".", f"no knowledge file found in {directory}")
    for path in files:
        doc = _read_yaml(path)
        if not isinstance(doc, dict) or not isinstance(doc.get("entries"), list):
            raise KnowledgeError(path.name, "must hold an 'entries' list", field_name="entries")
        entries = doc["entries"]
        for index, entry in enumerate(entries):
            error = jsonschema.exceptions.best_match(entry_validator.iter_errors(entry))
            if error is not None:
                error.path.appendleft(index)
                raise _schema_error(path.name, entries, error)
            if entry["id"] in kb.entries:
                raise KnowledgeError(path.name, f"duplicate id (also in {kb.files[entry['id']]})", entry["id"], "id")
            kb.entries[entry["id"]] = entry
            kb.files[entry["id"]] = path.name
    _check_references(kb)
    _check_roles(kb)
    _check_message_references(kb)
    _check_synonyms(kb)
    _render_rules(kb)
    return kb


@functools.lru_cache(maxsize=1)
def get_knowledge_base() -> KnowledgeBase:
    """The process-wide base, loaded once (from $KA2_KNOWLEDGE_DIR if set)."""
    return load_knowledge_base(Path(settings.KNOWLEDGE_DIR.get() or DEFAULT_KNOWLEDGE_DIR))
