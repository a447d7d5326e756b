"""Benchmark of `ka2-staff unanswered`'s grouping (staff/grouping.py) on synthetic messages.

Run with `.venv/bin/python bench/unanswered.py` (or `--sizes 1000,10000`). Messages are made from
the knowledge base's own words (labels, synonyms, keywords) with question words and typos (a letter
dropped, doubled, swapped or replaced), from a fixed seed: the same messages on every run. For the
smallest size the grouping is also compared with the same rule applied pairwise (every message
against every group, words first, then `text.are_similar`): same groups or not. Prints a table and writes
bench/unanswered_results.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import string
import sys
import time
from pathlib import Path
from typing import List, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ka2.knowledge import get_knowledge_base  # noqa: E402
from staff.grouping import group_indices, reference_groups  # noqa: E402

RESULTS = ROOT / "bench" / "unanswered_results.json"
SEED = 15
SIZES = (1_000, 10_000, 100_000)
OPENINGS = ["", "bonjour ", "svp ", "euh ", "salut, "]
QUESTIONS = ["c'est quoi", "comment avoir", "combien pour", "qui peut demander", "où trouver", "quand déposer"]
ENDINGS = ["", " ?", " ??", " svp", " merci", " !"]
OFF_TOPIC = "météo demain Liège Namur foot pizza train horaire vacances chat chien film musique".split()


def vocabulary() -> List[List[str]]:
    """Phrases of the knowledge base: each entry's label, synonyms and keywords."""
    phrases = []
    for entry in get_knowledge_base().entries.values():
        for phrase in [entry["label"], *entry.get("synonyms", []), *entry.get("keywords", [])]:
            words = str(phrase).split()
            if words:
                phrases.append(words)
    return phrases


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    return word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1 :]


def messages(count: int, seed: int = SEED) -> List[str]:
    """`count` messages: questions about a few knowledge-base phrases, off-topic ones, with typos."""
    rng = random.Random(seed)
    phrases = vocabulary()
    # Users ask about some subjects far more than others: a few hundred "questions", each asked many ways.
    subjects = [rng.sample(phrases, rng.choice((1, 1, 2))) for _ in range(max(50, count // 20))]
    out = []
    for _ in range(count):
        if rng.random() < 0.1:
            words = rng.sample(OFF_TOPIC, rng.randrange(2, 5))
        else:
            words = [rng.choice(QUESTIONS)] + [w for phrase in rng.choice(subjects) for w in phrase]
        words = [typo(w, rng) if rng.random() < 0.15 else w for w in words]
        out.append(rng.choice(OPENINGS) + " ".join(words) + rng.choice(ENDINGS))
    return out


def run(sizes: Sequence[int], compare_up_to: int) -> dict:
    rows = []
    for size in sizes:
        texts = messages(size)
        start = time.perf_counter()
        groups = group_indices(texts)
        seconds = time.perf_counter() - start
        row = {"messages": size, "distinct_texts": len(set(texts)), "groups": max(groups) + 1, "seconds": seconds}
        if size <= compare_up_to:
            start = time.perf_counter()
            reference = reference_groups(texts)
            row["pairwise_seconds"] = time.perf_counter() - start
            row["same_groups_as_pairwise"] = reference == groups
            row["pairwise_groups"] = max(reference) + 1
        rows.append(row)
        print(
            f"{size:>7} messages: {row['groups']:>6} groups in {seconds:6.2f} s"
            + (
                f" (pairwise: {row['pairwise_groups']} groups in {row['pairwise_seconds']:.1f} s, "
                f"same groups: {row['same_groups_as_pairwise']})"
                if "pairwise_seconds" in row
                else ""
            ),
            flush=True,
        )
    return {
        "machine": {"python": platform.python_version(), "machine": platform.machine()},
        "seed": SEED,
        "results": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--compare-up-to", type=int, default=1_000, help="also run the pairwise rule up to this size")
    args = parser.parse_args()
    results = run([int(s) for s in args.sizes.split(",")], args.compare_up_to)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
