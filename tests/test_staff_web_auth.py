"""The staff web console's accounts, sessions, CSRF and rate limit: units, then the real server over HTTP.

The server runs as `python -m staff.web` on 127.0.0.1 over SQLite files in a temporary directory (no
Rasa needed: the security rules do not depend on conversations).
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Iterator, List

import pytest

from ka2 import helpdesk_store, staff_store
from ka2.helpdesk_store import HandoffRequest
from staff.web import auth, queries

from .conftest import BIN, ROOT
from .staff_web_helpers import PASSWORD, SECRET, Client, Console, running_console

# --------------------------------------------------------------------------------------------------
# Units


def test_passwords_are_argon2_hashes_that_verify_only_the_right_password():
    stored = auth.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert auth.verify_password(stored, "correct horse battery")
    assert not auth.verify_password(stored, "correct horse batterie")
    assert not auth.verify_password(None, "anything")
    assert not auth.verify_password("not a hash", "anything")
    assert auth.password_problem("court") and auth.password_problem("assez long pour passer") is None


def test_csrf_token_belongs_to_its_session():
    token = auth.new_token()
    csrf = auth.csrf_token(SECRET, token)
    assert auth.csrf_valid(SECRET, token, csrf)
    assert not auth.csrf_valid(SECRET, auth.new_token(), csrf)
    assert not auth.csrf_valid(SECRET, token, "")
    assert not auth.csrf_valid("another secret, just as long as the first", token, csrf)


def test_the_console_refuses_a_missing_or_short_secret():
    with pytest.raises(auth.SecretError, match="KA2_STAFF_SECRET"):
        auth.check_secret(None)
    with pytest.raises(auth.SecretError, match="trop court"):
        auth.check_secret("short")


def test_accounts_sessions_and_reset_links(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    user_id = staff_store.add_user(" Marie@Example.org ", "bij", auth.hash_password(PASSWORD), db)
    user = staff_store.get_user_by_email("marie@example.org", db)
    assert user.id == user_id and user.agency == "bij" and not user.is_admin
    with pytest.raises(ValueError, match="agence inconnue"):
        staff_store.add_user("x@example.org", "europe", "h", db)
    staff_store.create_session("hash-1", user_id, 60, db)
    assert staff_store.session_user("hash-1", db).email == "marie@example.org"
    staff_store.create_session("expired", user_id, -1, db)
    assert staff_store.session_user("expired", db) is None
    staff_store.create_reset_token("reset-1", user_id, db_url=db)
    assert staff_store.use_reset_token("reset-1", db) == user_id
    assert staff_store.use_reset_token("reset-1", db) is None  # one use only
    staff_store.set_password(user_id, auth.hash_password("un autre mot de passe"), db)
    assert staff_store.session_user("hash-1", db) is None  # a new password ends every session


def test_agency_filter_and_exports():
    def handoff(i: int, agency: str) -> helpdesk_store.StoredHandoff:
        return helpdesk_store.StoredHandoff("s", "n", "e@x", "q", agency_id=agency, id=i)

    handoffs = [handoff(1, "agency.bij"), handoff(2, "agency.aef_europe"), handoff(3, "agency.bij")]
    assert [h.id for h in queries.visible_handoffs(handoffs, "aef")] == [2]
    assert [h.id for h in queries.visible_handoffs(handoffs, "bij")] == [3, 1]
    assert len(queries.visible_handoffs(handoffs, "all")) == 3
    csv_text = queries.csv_text(["a", "b"], [['=HYPERLINK("x")', "+1"], ["-2", "@SUM(A1)"], ["ok", 3]])
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert lines[1] == '"\'=HYPERLINK(""x"")";\'+1'
    assert lines[2] == "'-2;'@SUM(A1)" and lines[3] == "ok;3"


# --------------------------------------------------------------------------------------------------
# The real server


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    workdir = tmp_path_factory.mktemp("staff-web-auth")
    env = {"KA2_DB_URL": f"sqlite:///{workdir / 'tracker.db'}", "KA2_STAFF_LOGIN_ATTEMPTS": "3"}
    yield from running_console(workdir, env)


@pytest.fixture(scope="module")
def accounts(console: Console) -> List[str]:
    console.add_user("admin@example.org", "all")
    console.add_user("bij@example.org", "bij")
    console.add_user("locked@example.org", "aef")
    helpdesk_store.save_handoff(
        HandoffRequest(
            sender_id="web:script",
            name="<script>alert('nom')</script>",
            email="x@example.org",
            question="<img src=x onerror=alert(1)> quelle date ?",
            agency_id="agency.bij",
            last_messages=[("user", "<script>alert('message')</script>")],
        ),
        db_url=console.env["KA2_DB_URL"],
    )
    return ["admin@example.org", "bij@example.org"]


def route_paths() -> List[str]:
    """Every route of the app, with sample values for its parameters."""
    from staff.web.app import create_app

    app = create_app({"KA2_STAFF_SECRET": SECRET, "KA2_DB_URL": "sqlite://"})
    paths = set()
    for route in app.router.routes:
        path = "/" + route.path.lstrip("/")
        path = re.sub(r"<[^>:]+:int>", "1", path)
        path = re.sub(r"<action:[^>]+>", "note", path)
        path = re.sub(r"<[^>]+>", "abc", path)
        paths.update((method, path) for method in route.methods)
    return sorted(paths)


def test_no_route_answers_without_a_session(console: Console, accounts):
    public = {"/connexion", "/mot-de-passe-oublie", "/reinitialiser"}
    checked = 0
    for method, path in route_paths():
        if path in public or path.startswith("/static"):
            continue
        client = Client(console.url)
        status, headers, body = client.request(path, {"csrf": "x"} if method == "POST" else None)
        if method == "GET" and not path.endswith((".csv", ".yml")):
            assert status == 302 and headers["Location"].startswith("/connexion"), (path, status)
        else:
            assert status == 401, (method, path, status)
        assert "Demande" not in body
        checked += 1
    assert checked >= 20


def test_sign_in_sets_a_strict_http_only_cookie_and_a_wrong_password_is_refused(console: Console, accounts):
    client = Client(console.url)
    status, _, body = client.sign_in("admin@example.org", "mauvais mot de passe")
    assert status == 401 and "Adresse e-mail ou mot de passe incorrect." in body
    status, _, unknown = client.sign_in("nobody@example.org", "mauvais mot de passe")
    assert status == 401 and "Adresse e-mail ou mot de passe incorrect." in unknown
    status, headers, _ = client.sign_in("admin@example.org")
    assert status == 303 and headers["Location"] == "/demandes"
    raw = headers["Set-Cookie"]
    assert "HttpOnly" in raw and "SameSite=Strict" in raw and "Max-Age=" in raw
    status, _, body = client.get("/demandes")
    assert status == 200 and "Demandes de contact" in body


def test_every_post_needs_the_session_csrf_token(console: Console, accounts):
    client = Client(console.url)
    client.sign_in("admin@example.org")
    client.get("/demandes/1")
    status, _, body = client.post("/demandes/1/note", with_csrf=False, texte="sans jeton")
    assert status == 403 and "CSRF" in body
    status, _, _ = client.request("/demandes/1/note", {"csrf": "0" * 64, "texte": "jeton faux"})
    assert status == 403
    other = Client(console.url)
    other.sign_in("bij@example.org")
    other.get("/demandes/1")
    status, _, _ = client.request("/demandes/1/note", {"csrf": other.csrf, "texte": "jeton d'une autre session"})
    assert status == 403
    status, _, _ = client.post("/demandes/1/note", texte="avec le bon jeton")
    assert status == 303
    _, _, page = client.get("/demandes/1")
    assert "avec le bon jeton" in page and "sans jeton" not in page and "jeton faux" not in page
    # The sign-in form itself carries a token tied to a cookie of the browser (no login CSRF).
    stranger = Client(console.url)
    status, _, _ = stranger.request("/connexion", {"email": "admin@example.org", "password": PASSWORD})
    assert status == 403


def test_sign_in_is_rate_limited_per_account(console: Console, accounts):
    client = Client(console.url)
    for _ in range(3):
        status, _, _ = client.sign_in("locked@example.org", "pas le bon mot de passe")
        assert status == 401
    status, _, body = client.sign_in("locked@example.org")  # even the right password, for 15 minutes
    assert status == 429 and "Trop de tentatives" in body
    status, _, _ = Client(console.url).sign_in("bij@example.org")  # other accounts are not locked out
    assert status == 303


def test_user_text_is_shown_as_text(console: Console, accounts):
    client = Client(console.url)
    client.sign_in("bij@example.org")
    for path in ("/demandes", "/demandes/1"):
        status, _, body = client.get(path)
        assert status == 200
        assert "<script>alert" not in body and "<img src=x" not in body
        assert "&lt;script&gt;alert(" in body
    _, headers, _ = client.get("/demandes")
    assert "script-src 'self'" in headers["Content-Security-Policy"]


def test_an_aef_account_never_sees_a_youth_request(console: Console, accounts):
    console.add_user("aef@example.org", "aef")
    client = Client(console.url)
    client.sign_in("aef@example.org")
    _, _, inbox = client.get("/demandes?statut=all")
    assert "quelle date" not in inbox and "0 demande," in inbox
    status, _, _ = client.get("/demandes/1")
    assert status == 404
    status, _, _ = client.post("/demandes/1/terminer")
    assert status == 404
    assert helpdesk_store.get_handoff(1, console.env["KA2_DB_URL"]).status == "open"


def test_admin_pages_are_for_admins_and_the_audit_log_records_actions(console: Console, accounts):
    client = Client(console.url)
    client.sign_in("bij@example.org")
    assert client.get("/admin/comptes")[0] == 403
    assert client.get("/admin/journal")[0] == 403
    admin = Client(console.url)
    admin.sign_in("admin@example.org")
    admin.get("/admin/comptes")
    status, _, _ = admin.post("/admin/comptes", email="new@example.org", agency="aef", password="mot de passe neuf !")
    assert status == 303
    _, _, journal = admin.get("/admin/journal")
    assert "compte enregistré" in journal and "new@example.org (aef)" in journal and "connexion" in journal


def test_forgotten_password_says_the_same_thing_whether_the_account_exists(console: Console, accounts):
    answers = []
    for email in ("bij@example.org", "personne@example.org"):
        client = Client(console.url)
        client.get("/mot-de-passe-oublie")
        status, _, body = client.post("/mot-de-passe-oublie", email=email)
        assert status == 200
        answers.append(re.sub(r'name="csrf" value="[^"]+"', "", body))
    assert answers[0] == answers[1] and "Si un compte existe pour cette adresse" in answers[0]


def test_users_add_refuses_a_short_password_with_a_sentence(console: Console):
    result = subprocess.run(
        [str(BIN / "ka2-staff"), "users", "add", "court@example.org", "--agency", "bij"],
        input="court\n",
        capture_output=True,
        text=True,
        env=console.env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 1 and "au moins 12 caractères" in result.stderr and "Traceback" not in result.stderr


def test_a_transcript_is_reached_by_a_namespaced_sender_id(console: Console, accounts):
    """Sender ids such as `web:…` or `tg:…` (with spaces or accents) go through quoted links."""
    db = Path(console.env["KA2_DB_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(db) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, "
            "timestamp REAL, intent_name TEXT, action_name TEXT, data TEXT)"
        )
        data = {"text": "bonjour <b>là</b>", "parse_data": {"intent": {"name": "greet", "confidence": 0.93}}}
        connection.execute(
            "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, ?)",
            ("tg:123 é", time.time(), json.dumps(data)),
        )
    client = Client(console.url)
    client.sign_in("admin@example.org")
    _, _, listing = client.get("/conversations")
    link = re.search(r'href="(/conversations/tg[^"]+)"', listing).group(1)
    status, _, page = client.get(link)
    assert status == 200 and "tg:123 é" in page and "bonjour &lt;b&gt;là&lt;/b&gt;" in page
    assert "greet" in page and "confiance 0,93" in page
