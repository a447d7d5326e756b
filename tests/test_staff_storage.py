"""The staff console on a real Rasa SQL tracker store (a SQLite file written by SQLTrackerStore).

Retention by event age, `forget` with channel-namespaced ids, CSV cells that are never formulas,
and the fast grouping of unanswered messages against the pairwise rule it replaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import random
import time
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Dict, List

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from ka2 import helpdesk_store as store
from ka2.helpdesk_store import AnswerRating, HandoffRequest
from ka2.text import normalise
from staff import cli, conversations, grouping, reports
from staff.conversations import UserMessage
from staff.grouping import group_indices, reference_groups
from staff.text import are_similar

DAY = 86400


def save_conversation(db: Path, sender: str, events_ages_days: List[tuple]) -> None:
    """Events written by Rasa's own SQL tracker store, each `(event, age in days)`."""
    tracker_store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(db))
    now = time.time()
    events = []
    for event, age in events_ages_days:
        event.timestamp = now - age * DAY
        events.append(event)
    asyncio.run(tracker_store.save(DialogueStateTracker.from_events(sender, events)))
    tracker_store.engine.dispose()


def user(text: str) -> UserUttered:
    return UserUttered(text, {"name": "nlu_fallback", "confidence": 0.3}, input_channel="rest")


def console(db: Path, *args: str) -> tuple:
    url = f"sqlite:///{db}"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.Console(cli.build_parser().parse_args(["--db", url, "--helpdesk-db", url, *args]), out=out)
        try:
            status = cli.COMMANDS[code.args.command](code)
        except cli.ConsoleError as error:
            status, err = 1, io.StringIO(str(error))
    return status, out.getvalue(), err.getvalue()


def count(db: Path, sender: str) -> int:
    import sqlite3

    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0]


# ---------------------------------------------------------------------------------------------
# Retention by event age


def test_purge_removes_old_events_of_a_conversation_still_active(tmp_path):
    db = tmp_path / "tracker.db"
    # A year ago: a handoff form filled in (name and address in slots); yesterday: a new question.
    save_conversation(
        db,
        "web:active",
        [
            (user("je veux parler à quelqu'un"), 400),
            (SlotSet("handoff_name", "Marie Dupont"), 400),
            (SlotSet("handoff_email", "marie.dupont@example.org"), 400),
            (ActionExecuted("action_listen"), 400),
            (user("et la date limite ?"), 1),
            (ActionExecuted("action_listen"), 1),
        ],
    )
    save_conversation(db, "tg:gone", [(user("bonjour"), 300), (ActionExecuted("action_listen"), 300)])
    save_conversation(db, "rest:recent", [(user("bonjour"), 2)])
    recent_total = count(db, "rest:recent")

    status, out, _ = console(db, "purge", "--days", "180")
    assert status == 0
    assert "Supprimé : 1 conversation(s) entière(s)" in out
    assert "dans 1 conversation(s) encore active(s)" in out

    import sqlite3

    with sqlite3.connect(db) as connection:
        left = connection.execute("SELECT type_name, data FROM events WHERE sender_id = 'web:active'").fetchall()
    assert left and all("marie" not in data.lower() for _, data in left)
    assert {kind for kind, _ in left} <= {"user", "action"}
    assert any("et la date limite ?" in data for _, data in left)
    assert count(db, "tg:gone") == 0 and count(db, "rest:recent") == recent_total
    # Rasa still reads what remains.
    tracker_store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(db))
    tracker = asyncio.run(tracker_store.retrieve("web:active"))
    assert tracker.get_slot("handoff_email") is None if "handoff_email" in tracker.slots else True
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["et la date limite ?"]


# ---------------------------------------------------------------------------------------------
# forget with channel namespaces


def test_forget_finds_a_bare_id_in_its_channel_and_says_which(tmp_path):
    db = tmp_path / "tracker.db"
    url = f"sqlite:///{db}"
    save_conversation(db, "tg:12345", [(user("bonjour"), 1)])
    save_conversation(db, "web:other", [(user("bonjour"), 1)])
    store.save_handoff(HandoffRequest("tg:12345", "Awa Diallo", "awa@example.be", "Un conseiller ?"), url)
    store.save_feedback(AnswerRating("tg:12345", "topic.ka2_definition", "up"), url)
    status, out, _ = console(db, "forget", "12345")
    assert status == 0
    assert out.strip().startswith("Données de « tg:12345 » (Telegram) effacées : ")
    assert "1 demande(s) de contact, 1 note(s)." in out
    assert count(db, "tg:12345") == 0 and count(db, "web:other") > 0
    assert store.list_handoffs(None, db_url=url) == []


def test_forget_with_a_namespaced_id_works_as_is_and_an_ambiguous_bare_id_erases_nothing(tmp_path):
    db = tmp_path / "tracker.db"
    save_conversation(db, "web:555", [(user("bonjour"), 1)])
    save_conversation(db, "rest:555", [(user("bonjour"), 1)])
    status, _, err = console(db, "forget", "555")
    assert status == 1 and "web:555, rest:555" in err and "ka2-staff forget tg:12345" in err
    assert count(db, "web:555") > 0 and count(db, "rest:555") > 0
    status, out, _ = console(db, "forget", "rest:555")
    assert status == 0 and out.startswith("Données de « rest:555 » (REST) effacées")
    assert count(db, "rest:555") == 0 and count(db, "web:555") > 0
    status, out, _ = console(db, "forget", "nobody")
    assert status == 0 and "Aucune donnée pour « nobody »" in out and "tg:nobody" in out


def test_listings_show_the_channel_of_a_namespaced_conversation(tmp_path):
    db = tmp_path / "tracker.db"
    url = f"sqlite:///{db}"
    save_conversation(db, "tg:777", [(user("asdfgh"), 0)])
    save_conversation(db, "legacy", [(user("qsdfgh"), 0)])
    channels = {m.sender_id: m.channel for m in conversations.read_messages(store.engine_for(url))}
    assert channels == {"tg:777": "Telegram", "legacy": "rest"}
    store.save_handoff(HandoffRequest("web:abc", "Awa Diallo", "awa@example.be", "?", channel="socketio"), url)
    _, out, _ = console(db, "handoffs", "list")
    assert "  widget  Awa Diallo <awa@example.be>" in out


# ---------------------------------------------------------------------------------------------
# CSV export


def message(text: str, sender: str = "web:a") -> UserMessage:
    return UserMessage(sender, time.time(), text, "nlu_fallback", 0.3, "widget")


@pytest.mark.parametrize("attack", ["=HYPERLINK(\"http://x\";\"clic\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
                                    "\tx", "\r=1"])  # fmt: skip
def test_csv_cells_never_start_a_formula(attack):
    groups = reports.group_unanswered([message(attack), message("quel temps demain ?", "-1001")])
    rating = store.StoredRating("=evil", "fact.x", "down", question=attack, id=1, created_at=dt.datetime(2026, 1, 1))
    out = io.StringIO()
    reports.write_unanswered_csv(out, groups, reports.down_rated_by_answer([rating]))
    rows = list(csv.reader(io.StringIO(out.getvalue()), delimiter=";"))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + attack in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'-1001" in cells and "'=evil" in cells
    assert rows[1][1].isdigit()  # numbers stay numbers


# ---------------------------------------------------------------------------------------------
# Grouping unanswered messages


def sample_messages(kb, count: int) -> List[str]:
    rng = random.Random(7)
    phrases = [e["label"] for e in kb.entries.values()] + [
        s for e in kb.entries.values() for s in e.get("synonyms", [])
    ]
    asks = ["c'est quoi", "comment avoir", "qui peut demander", "quand déposer", ""]
    out = []
    for _ in range(count):
        words = f"{rng.choice(asks)} {rng.choice(phrases)}".split()
        if words and rng.random() < 0.4:
            i = rng.randrange(len(words))
            word = words[i]
            if len(word) > 3:
                j = rng.randrange(1, len(word) - 1)
                words[i] = word[:j] + word[j + 1 :]
        out.append(" ".join(words) + rng.choice(["", " ?", " svp"]))
    return out + ["quel temps fera-t-il demain à Liège ?", "quel temps fera-t-il demain à Namur ?", "asdfgh"]


def test_fast_grouping_joins_only_similar_messages_and_finds_the_pairwise_rules_groups(kb):
    texts = sample_messages(kb, 400)
    fast, reference = group_indices(texts), reference_groups(texts)
    leaders = {}
    for text, group in zip(texts, fast, strict=False):
        leaders.setdefault(group, text)
    # Never a false group: each message is similar to its group's first message, by the same rule.
    assert all(are_similar(leaders[group], text) for text, group in zip(texts, fast, strict=False))

    # The pairs the pairwise rule put together are (nearly all) together here too.
    def pairs(groups):
        return {(i, j) for i in range(len(groups)) for j in range(i) if groups[i] == groups[j]}

    together, expected = pairs(fast), pairs(reference)
    assert len(together & expected) >= 0.9 * len(expected)
    assert len(set(fast)) < len(set(texts))  # it does group


def test_the_word_index_proposes_every_group_sharing_half_of_the_words():
    # Keyed by pairs of rare words, it must still propose every set with Jaccard >= 0.5 (sizes 1 to 7).
    rng = random.Random(3)
    vocabulary = [f"mot{i}" for i in range(12)]
    sets = [frozenset(rng.sample(vocabulary, rng.randrange(1, 8))) for _ in range(300)]
    index = grouping._WordIndex(grouping._Rank(Counter(word for words in sets for word in words)))
    for group, words in enumerate(sets):
        index.add(words, group)
    for words in sets:
        proposed = set(index.candidates(words))
        alike = {g for g, other in enumerate(sets) if 3 * len(words & other) >= len(words) + len(other)}
        assert alike <= proposed


def test_unanswered_groups_keep_their_first_message_and_count():
    texts = ["quel temps fera-t-il demain à Liège ?", "asdfgh", "quel temps fera-t-il demain à Namur ?"]
    groups = reports.group_unanswered([message(t, f"web:{i}") for i, t in enumerate(texts)])
    by_text: Dict[str, int] = {g.text: g.count for g in groups}
    assert by_text == {"quel temps fera-t-il demain à Liège ?": 2, "asdfgh": 1}
    assert groups[0].variants == ["quel temps fera-t-il demain à Namur ?"]


def test_the_fast_normalisation_is_unicode_decomposition(kb):
    def reference(text: str) -> str:
        text = unicodedata.normalize("NFKD", text.lower().replace("œ", "oe").replace("æ", "ae").replace("’", "'"))
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
        return " ".join(text.replace("-", " ").split())

    texts = [str(e.get("text") or e["label"]) for e in kb.entries.values()]
    texts += ["Œuvre – Liège’s ÆON ﬁ ℌ ǅ é\u0301 İ \u2011x", "déjà-vu  à\tl'École", "abc"]
    for text in texts:
        assert normalise(text) == reference(text)
