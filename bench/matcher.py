"""Benchmark of the priority matcher on the labelled descriptions, against a keyword-overlap baseline.

Run with `make bench-matcher` (or `.venv/bin/python bench/matcher.py`). Prints a table and writes
bench/matcher_results.json. The baseline counts the description's words found, accent-free and
exact, among a priority's keywords and text: what a team would write first.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ka2.knowledge import KnowledgeBase, get_knowledge_base, normalise  # noqa: E402
from ka2.matching import get_matcher  # noqa: E402

DATA = ROOT / "tests" / "data" / "project_descriptions.yml"
RESULTS = ROOT / "bench" / "matcher_results.json"
REPEAT = 5

Ranker = Callable[[str, str], List[str]]


def keyword_overlap_ranker(kb: KnowledgeBase) -> Ranker:
    vocab: Dict[str, set] = {}
    for priority in kb.of_type("priority"):
        words = " ".join([priority["text"], priority["label"], *priority.get("keywords", [])])
        vocab[priority["id"]] = {w for w in normalise(words).split() if len(w) > 3}

    def rank(text: str, sector: str) -> List[str]:
        words = {w for w in normalise(text).split() if len(w) > 3}
        candidates = [p["id"] for p in kb.of_type("priority") if p["scope"] in ("horizontal", sector)]
        scored = sorted(((len(words & vocab[c]), c) for c in candidates), key=lambda x: (-x[0], x[1]))
        return [c for score, c in scored if score > 0][:4]

    return rank


def matcher_ranker() -> Ranker:
    matcher = get_matcher()
    return lambda text, sector: [m.priority_id for m in matcher.match(text, sector).matches]


def evaluate(name: str, rank: Ranker, items: List[dict]) -> dict:
    labelled = [d for d in items if not d["vague"]]
    any_hit = first_hit = 0
    for item in labelled:
        top = rank(item["text"], item["sector"])[:3]
        any_hit += bool(set(top) & set(item["expected"]))
        first_hit += item["expected"][0] in top
    vague = [d for d in items if d["vague"]]
    vague_flagged = sum(not rank(d["text"], d["sector"]) for d in vague)
    timings = []
    for _ in range(REPEAT):
        for item in items:
            start = time.perf_counter()
            rank(item["text"], item["sector"])
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return {
        "ranker": name,
        "descriptions": len(labelled),
        "top3_hit_rate": round(any_hit / len(labelled), 3),
        "first_expected_in_top3": round(first_hit / len(labelled), 3),
        "vague_flagged": f"{vague_flagged}/{len(vague)}",
        "ms_median": round(statistics.median(timings), 2),
        "ms_p95": round(timings[int(0.95 * (len(timings) - 1))], 2),
    }


def main() -> int:
    items = yaml.safe_load(DATA.read_text("utf-8"))["descriptions"]
    kb = get_knowledge_base()
    rows = [evaluate("matcher (spaCy + keywords)", matcher_ranker(), items)]
    rows.append(evaluate("keyword overlap baseline", keyword_overlap_ranker(kb), items))
    header = f"{'ranker':30} {'top-3 hit':>9} {'1st in top-3':>12} {'vague flagged':>13} {'median ms':>9} {'p95 ms':>7}"
    print(header)
    for r in rows:
        print(
            f"{r['ranker']:30} {r['top3_hit_rate']:>9} {r['first_expected_in_top3']:>12} "
            f"{r['vague_flagged']:>13} {r['ms_median']:>9} {r['ms_p95']:>7}"
        )
    machine = {"python": platform.python_version(), "machine": platform.machine(), "processor": platform.processor()}
    RESULTS.write_text(json.dumps({"machine": machine, "results": rows}, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
