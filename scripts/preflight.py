"""Pre-flight checks before starting the assistant: one clear line per problem, never a trace.

    python scripts/preflight.py [--model models/ka2.tar.gz] [--knowledge knowledge] [--skip-model]

Checks that the trained model is a readable Rasa model archive (present, gzip/tar intact, with its
metadata.json), that every KA2_* environment variable has a usable value (ka2/settings.py), that the
knowledge base passes validation and that the spaCy model fr_core_news_md is installed. Exit status 1
with "Refusing to start: ..." lines otherwise. scripts/run.sh runs it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tarfile
import zlib
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the core package is beside this folder

from ka2 import settings  # noqa: E402

SPACY_MODEL = "fr_core_news_md"


def check_model(path: Path) -> Optional[str]:
    if not path.exists():
        return f"model file {path} is missing: train it with `make train`."
    try:
        with tarfile.open(path, "r:gz") as archive:
            names = archive.getnames()  # reads the whole archive: a truncated file fails here
            metadata = archive.extractfile("metadata.json") if "metadata.json" in names else None
            if metadata is None:
                return f"model file {path} is not a Rasa model (no metadata.json): retrain it with `make train`."
            json.load(metadata)
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        return f"model file {path} is corrupt ({reason}): delete it and retrain with `make train`."
    return None


def check_settings() -> Optional[str]:
    """The first environment variable set to a value the assistant cannot use, named."""
    try:
        settings.validate()
    except settings.SettingsError as error:
        return f"environment variable {error}."
    return None


def check_knowledge(directory: Path) -> Optional[str]:
    from ka2.knowledge import KnowledgeError, load_knowledge_base

    try:
        load_knowledge_base(directory)
    except KnowledgeError as error:
        return f"knowledge base invalid: {error}"
    except OSError as error:
        return f"knowledge base unreadable: {error}"
    return None


def check_spacy(name: str = SPACY_MODEL) -> Optional[str]:
    if importlib.util.find_spec(name) is None:
        return f"spaCy model {name} is not installed: run `make install` (it is in requirements.lock)."
    return None


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "ka2.tar.gz")
    parser.add_argument("--knowledge", type=Path, default=None, help="default: $KA2_KNOWLEDGE_DIR or knowledge/")
    parser.add_argument("--skip-model", action="store_true", help="for the action server alone")
    args = parser.parse_args(argv)
    settings_problem = check_settings()
    # An invalid variable is reported above; the knowledge check then uses the default folder.
    configured = None if settings_problem else settings.KNOWLEDGE_DIR.get()
    knowledge = args.knowledge or Path(configured or ROOT / "knowledge")
    problems = [
        settings_problem,
        None if args.skip_model else check_model(args.model),
        check_knowledge(knowledge),
        check_spacy(),
    ]
    problems = [p for p in problems if p]
    for problem in problems:
        print(f"Refusing to start: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
