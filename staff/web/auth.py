"""Passwords, session tokens and CSRF tokens of the staff web console (pure, no HTTP).

The cookie holds a random token; the database stores only an HMAC of it under KA2_STAFF_SECRET, so a
copy of the database opens no session. The CSRF token is another HMAC of the same token: one per
session, checked on every POST, nothing more to store.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_SECRET_CHARS = 32
MIN_PASSWORD_CHARS = 12
# argon2-cffi's defaults (argon2id, RFC 9106 low-memory profile).
_hasher = PasswordHasher()
# Verified when an e-mail has no account, so that a wrong address takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class SecretError(ValueError):
    pass


def check_secret(secret: Optional[str]) -> str:
    if not secret:
        raise SecretError("KA2_STAFF_SECRET n'est pas défini : la console refuse de démarrer sans secret de session.")
    if len(secret) < MIN_SECRET_CHARS:
        raise SecretError(f"KA2_STAFF_SECRET est trop court : au moins {MIN_SECRET_CHARS} caractères.")
    return secret


def password_problem(password: str) -> Optional[str]:
    """Why a new password is refused (in French), else None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"Le mot de passe doit compter au moins {MIN_PASSWORD_CHARS} caractères."
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: Optional[str], password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def keyed_hash(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def csrf_token(secret: str, session_token: str) -> str:
    return keyed_hash(secret, "csrf:" + session_token)


def csrf_valid(secret: str, session_token: Optional[str], submitted: Optional[str]) -> bool:
    if not session_token or not submitted:
        return False
    return hmac.compare_digest(csrf_token(secret, session_token), submitted)
