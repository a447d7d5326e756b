"""How long the staff web console takes to answer its pages over a large synthetic database.

Run with `.venv/bin/python bench/staff_web.py [CONVERSATIONS]` (default 2000). Builds, in a temporary
directory, a SQLite conversation store shaped as Rasa's `events` table (each conversation: three user
messages, one of them not understood, with the actions and bot replies), one contact request per
ten conversations, then starts `python -m staff.web` on 127.0.0.1, signs in and times each page
(median of REPEAT requests). Prints a table; writes bench/staff_web_results.json.
"""

from __future__ import annotations

import json
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ka2 import helpdesk_store  # noqa: E402
from tests.staff_web_helpers import Client, Console  # noqa: E402

RESULTS = ROOT / "bench" / "staff_web_results.json"
REPEAT = 5
PAGES = ["/demandes?statut=all", "/conversations", "/incompris", "/statistiques", "/connaissances"]
QUESTIONS = [
    ("c'est quoi le KA2 ?", "ask_ka2_definition", 0.97),
    ("combien pour un partenariat à petite échelle ?", "ask_funding", 0.91),
    ("quel temps fera-t-il demain à {n} ?", "out_of_scope", 0.88),
    ("blabla {n} xyz", "nlu_fallback", 0.3),
]


def build(db: Path, conversations: int) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, timestamp REAL, "
            "intent_name TEXT, action_name TEXT, data TEXT)"
        )
        now = time.time() - 86400
        rows = []
        for c in range(conversations):
            sender = f"bench-{c}"
            for m, (text, intent, confidence) in enumerate(QUESTIONS[(c % 2) : (c % 2) + 3]):
                t = now + c + m
                parse = {"intent": {"name": intent, "confidence": confidence}, "entities": []}
                data = {"text": text.format(n=c % 50), "parse_data": parse, "input_channel": "rest"}
                rows.append((sender, "user", t, intent, None, json.dumps(data)))
                action = "action_clarify" if intent == "nlu_fallback" else "action_answer"
                rows.append((sender, "action", t, None, action, "{}"))
                rows.append((sender, "bot", t, None, None, json.dumps({"text": "Réponse."})))
        connection.executemany(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    url = f"sqlite:///{db}"
    for c in range(0, conversations, 10):
        helpdesk_store.save_handoff(
            helpdesk_store.HandoffRequest(
                f"bench-{c}", "Nom", "n@example.org", "Une question", agency_id="agency.bij", channel="rest"
            ),
            url,
        )


def main(conversations: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db = workdir / "tracker.db"
        build(db, conversations)
        console = Console(workdir, {"KA2_DB_URL": f"sqlite:///{db}"}).start()
        try:
            console.add_user("bench@example.org", "all")
            client = Client(console.url)
            client.sign_in("bench@example.org")
            results = {}
            for page in PAGES:
                times = []
                for _ in range(REPEAT):
                    start = time.perf_counter()
                    status, _, _ = client.get(page)
                    times.append(time.perf_counter() - start)
                    assert status == 200, (page, status)
                results[page] = round(statistics.median(times) * 1000)
        finally:
            console.stop()
    print(f"{conversations} conversations, {3 * conversations} user messages, {conversations // 10} requests")
    for page, ms in results.items():
        print(f"  {page:<24} {ms:>6} ms")
    RESULTS.write_text(
        json.dumps({"conversations": conversations, "median_ms": results, "machine": platform.machine()}, indent=2)
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
