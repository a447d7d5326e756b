"""Start-up check of the action server: rasa_sdk imports this module when it registers the package.

The knowledge base is loaded and validated at start-up, so an invalid base stops
the action server at start-up with one line naming the file, entry and field, instead of serving
users half a base.
"""

import ctypes
import ctypes.util
import gc

from ka2 import log_privacy, settings
from ka2.knowledge import KnowledgeError, get_knowledge_base

log_privacy.install()

try:
    settings.validate()
except settings.SettingsError as error:
    raise SystemExit(f"Configuration invalide, serveur d'actions non démarré : {error}") from None

try:
    get_knowledge_base()
except KnowledgeError as error:
    # SystemExit, not ImportError: rasa_sdk logs ImportErrors and starts without the actions.
    raise SystemExit(f"Knowledge base invalid, action server not started: {error}") from None

# Load spaCy and the priority profiles now, so the first user of the matcher does not wait for them.
if not settings.LAZY_MATCHER.get():
    from ka2.matching import get_matcher

    try:
        get_matcher()
    except OSError as error:  # the spaCy model is missing
        raise SystemExit(f"spaCy model fr_core_news_md missing, action server not started: {error}") from None


def release_freed_memory() -> None:
    """Give the heap freed by loading back to the system.

    spaCy's model files are parsed into short-lived objects; glibc keeps the memory otherwise, about 30 MB
    of the action server's resident memory.
    """
    gc.collect()
    libc = ctypes.util.find_library("c")
    if libc:
        try:
            ctypes.CDLL(libc).malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
            pass


# Build the understanding layer's indexes now (fuzzy forms, retrieval): the first user does not wait.
from ka2.understanding.entities import find_entities  # noqa: E402
from ka2.understanding.retrieval import nearest_entries  # noqa: E402

find_entities(get_knowledge_base(), "partenarait de cooperation")
nearest_entries(get_knowledge_base(), "priorites")

release_freed_memory()
