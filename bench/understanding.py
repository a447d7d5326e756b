"""Cost of the understanding layer (ka2.understanding.interpret) per message, on phrasings written
for this benchmark: the layer must stay under 5 ms per turn (issue 13).

    .venv/bin/python bench/understanding.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ka2.knowledge import get_knowledge_base  # noqa: E402
from ka2.understanding.interpret import Frame, interpret  # noqa: E402

MESSAGES = [
    "c'est quoi le KA2 ?",
    "prio formation pro ?",
    "on est une maison de jeunes à Namur, on dépose où notre dossier ?",
    "partenarait de cooperation duree max ?",
    "et la durée ?",
    "les alliances pour l'innovation, c'est géré par qui ?",
    "notre école à Gand voudrait un KA220, chez qui ?",
    "un KA210 de 30 mois avec un partenaire tunisien, c'est jouable ?",
    "Bonjour, je travaille dans un CEFA à Liège et nous voudrions monter un projet avec des partenaires "
    "en France et au Portugal sur l'insertion des jeunes dans les métiers techniques.",
    "et la deuxième ?",
]


def main() -> int:
    kb = get_knowledge_base()
    frame = Frame(last_kinds=["priorities"], last_entities={"sector": ["sector.youth"]}, listed=["a", "b", "c"])
    for text in MESSAGES:  # warm the caches (fuzzy forms) as a running server has
        interpret(kb, text, "nlu_fallback", 0.0, {}, frame)
    timings = []
    for _ in range(50):
        for text in MESSAGES:
            start = time.perf_counter()
            interpret(kb, text, "nlu_fallback", 0.0, {}, frame)
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    p50, p95 = statistics.median(timings), timings[int(0.95 * len(timings))]
    print(f"interpret: p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {timings[-1]:.2f} ms over {len(timings)} calls")
    return 0 if p95 < 5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
