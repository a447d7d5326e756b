"""Faster calls to the action server: the response schema compiled once.

Rasa 3.6 checks every action server response with `jsonschema.validate(result, schema)`, which first
validates the schema itself against JSON Schema's meta-schema, on every call. With jsonschema 4.17
that check was half of a whole turn's time (`bench/profile_turn.py`: about 60 ms of a 180 ms turn
on an idle 2-core machine). `install()` replaces the check with one validator built once for the
same schema: the same responses are accepted and refused, with the same error message.

Installed when the channels package is imported, like `resilience`.
"""

from __future__ import annotations

import functools
from typing import Any, Dict

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions import action as rasa_action
from rasa.shared.constants import DOCS_BASE_URL


@functools.lru_cache(maxsize=1)
def response_validator() -> Any:
    schema = rasa_action.RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, as jsonschema.validate does on every call
    return cls(schema)


def validate_action_result(result: Dict[str, Any]) -> bool:
    """Rasa's `RemoteAction._validate_action_result`, with the compiled validator."""
    error = best_match(response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the "
            f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def install() -> None:
    remote = rasa_action.RemoteAction
    if getattr(remote._validate_action_result, "_ka2_compiled", False):
        return

    original = remote._validate_action_result

    def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
        return validate_action_result(result)

    _validate_action_result._ka2_compiled = True  # type: ignore[attr-defined]
    _validate_action_result.__wrapped__ = original  # type: ignore[attr-defined]
    remote._validate_action_result = _validate_action_result  # type: ignore[method-assign]
