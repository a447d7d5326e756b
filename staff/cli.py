"""`ka2-staff`: the helpdesk staff's console (help texts and output in French).

ka2-staff search "montant d'un partenariat à petite échelle"
ka2-staff unanswered --since 2025-01-01 --csv non-repondus.csv
ka2-staff stats --since 2025-01-01
ka2-staff handoffs list | show ID | done ID
ka2-staff forget SENDER
ka2-staff purge --days 180
ka2-staff users add EMAIL --agency bij|aef|all     (accounts of the web console, staff/web)
ka2-staff web
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from typing import Callable, Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ka2 import helpdesk_store, notify, settings
from ka2.database_url import DatabaseConfigError, helpdesk_db_url, redacted, tracker_db_url
from ka2.knowledge import KnowledgeBase, KnowledgeError, get_knowledge_base
from ka2.notify import describe_handoff

from . import conversations, reports
from .search import DEFAULT_LIMIT, rank_answers

DEFAULT_PERIOD_DAYS = 30
DEFAULT_RETENTION_DAYS = 180
ENV_RETENTION_DAYS = "KA2_RETENTION_DAYS"
STATUS_CHOICES = {"ouvertes": helpdesk_store.STATUS_OPEN, "traitees": helpdesk_store.STATUS_DONE, "toutes": None}
EXCERPT = 70
NOTIFY_OUTCOMES = {
    notify.SENT: "Demande n° {id} envoyée par e-mail au helpdesk de {agency}.",
    notify.DISABLED: "Envoi par e-mail désactivé : KA2_SMTP_HOST n'est pas défini.",
    notify.NO_ADDRESS: "Pas d'adresse de helpdesk configurée pour {agency} (KA2_HELPDESK_EMAIL_BIJ / _AEF).",
    notify.FAILED: "L'envoi de la demande n° {id} a échoué (détails dans le journal) ; la demande reste enregistrée.",
    notify.NOT_FOUND: "Aucune demande n° {id}.",
}


class ConsoleError(Exception):
    """A problem to report to staff in one sentence (exit status 1)."""


# ---------------------------------------------------------------------------------------------
# Arguments


def parse_date(text: str) -> dt.date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"date invalide « {text} » : écrivez AAAA-MM-JJ (ex. 2025-03-31) ou JJ/MM/AAAA")


def default_since() -> dt.date:
    return dt.date.today() - dt.timedelta(days=DEFAULT_PERIOD_DAYS)


def retention_days(env: Optional[Dict[str, str]] = None) -> int:
    try:
        return settings.RETENTION_DAYS.get(env)
    except settings.SettingsError as error:
        raise ConsoleError(str(error)) from None


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def as_utc(local: dt.datetime) -> dt.datetime:
    """A local time as the naive UTC time the helpdesk tables store."""
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


def since_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since",
        type=parse_date,
        default=None,
        metavar="DATE",
        help=f"depuis cette date incluse (AAAA-MM-JJ ou JJ/MM/AAAA ; par défaut : il y a {DEFAULT_PERIOD_DAYS} jours)",
    )


class FrenchArgumentParser(argparse.ArgumentParser):
    """argparse with its help option and section titles in French (sub-commands inherit it)."""

    def __init__(self, *args, **kwargs):
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "arguments"
        self._optionals.title = "options"
        self.add_argument("-h", "--help", action="help", help="afficher cette aide et quitter")


def build_parser() -> argparse.ArgumentParser:
    parser = FrenchArgumentParser(
        prog="ka2-staff",
        description=(
            "Console du personnel des agences (BIJ, AEF-Europe) pour l'assistant Erasmus+ KA2 : "
            "chercher une réponse, voir les questions restées sans réponse, les statistiques, les "
            "demandes de contact, et effacer des données personnelles. Guide : docs/staff/."
        ),
        epilog=(
            "Base de données : celle des conversations (endpoints.yml, ou la variable KA2_DB_URL) ; "
            "demandes de contact et notes : KA2_HELPDESK_DB_URL, par défaut la même base."
        ),
    )
    parser.add_argument("--db", metavar="URL", help="base des conversations (URL SQLAlchemy), remplace KA2_DB_URL")
    parser.add_argument(
        "--helpdesk-db", metavar="URL", help="base des demandes de contact et des notes, remplace KA2_HELPDESK_DB_URL"
    )
    parser.add_argument(
        "--endpoints", metavar="FICHIER", help="fichier endpoints.yml à lire (par défaut celui du projet)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMANDE", required=True)

    search = commands.add_parser(
        "search",
        help="chercher les réponses de la base de connaissances pour une question",
        description="Classe les réponses de la base de connaissances pour une question, avec leur identifiant, "
        "leur fichier et leur source : le texte peut être copié dans un e-mail.",
    )
    search.add_argument("question", help="la question, entre guillemets")
    search.add_argument(
        "-n", "--nombre", type=int, default=DEFAULT_LIMIT, help=f"nombre de réponses (défaut {DEFAULT_LIMIT})"
    )

    unanswered = commands.add_parser(
        "unanswered",
        help="messages restés sans réponse, regroupés par ressemblance",
        description="Les messages des utilisateurs incompris (repli), hors sujet ou compris avec une confiance "
        "faible, regroupés par ressemblance avec leur nombre, puis les réponses notées 👎 avec la question posée.",
    )
    since_argument(unanswered)
    unanswered.add_argument(
        "--csv", metavar="FICHIER", help="exporter aussi en CSV (séparateur « ; », pour un tableur)"
    )
    unanswered.add_argument(
        "--seuil",
        type=float,
        default=conversations.LOW_CONFIDENCE,
        help=f"confiance sous laquelle un message compte comme douteux (défaut {conversations.LOW_CONFIDENCE})",
    )

    stats = commands.add_parser(
        "stats",
        help="statistiques d'utilisation",
        description="Conversations par jour, messages, intentions les plus fréquentes, taux de repli, demandes "
        "de contact, notes 👍/👎, par canal.",
    )
    since_argument(stats)

    handoffs = commands.add_parser(
        "handoffs", help="demandes de contact avec une personne", description="Demandes de contact."
    )
    actions = handoffs.add_subparsers(dest="handoff_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="lister les demandes", description="Lister les demandes de contact.")
    listing.add_argument(
        "--statut", choices=list(STATUS_CHOICES), default="ouvertes", help="lesquelles (défaut : ouvertes, à traiter)"
    )
    show = actions.add_parser("show", help="afficher une demande en entier", description="Afficher une demande.")
    show.add_argument("id", type=int, help="numéro de la demande")
    done = actions.add_parser("done", help="marquer une demande comme traitée", description="Clore une demande.")
    done.add_argument("id", type=int, help="numéro de la demande")
    resend = actions.add_parser(
        "notify",
        help="(ré)envoyer une demande par e-mail à son agence",
        description="Envoie la demande au helpdesk de son agence (variables KA2_SMTP_*, KA2_HELPDESK_EMAIL_*), "
        "par exemple après un échec d'envoi.",
    )
    resend.add_argument("id", type=int, help="numéro de la demande")

    forget = commands.add_parser(
        "forget",
        help="effacer toutes les données d'un utilisateur",
        description="Efface la conversation d'un utilisateur (tous ses événements), ses demandes de contact et "
        "ses notes. Irréversible.",
    )
    forget.add_argument(
        "sender",
        metavar="SENDER",
        help="identifiant de la conversation (sender_id) : avec son canal (web:…, tg:…, rest:…) ou sans, "
        "auquel cas la conversation de ce numéro est cherchée dans chaque canal",
    )

    purge = commands.add_parser(
        "purge",
        help="supprimer les données anciennes",
        description="Supprime chaque événement de conversation de plus de N jours (une conversation encore "
        "active perd ses anciens messages), et les demandes de contact et notes de plus de N jours. À lancer "
        "régulièrement (par exemple chaque nuit).",
    )
    purge.add_argument(
        "--days",
        type=int,
        default=None,
        metavar="N",
        help=f"durée de conservation en jours (défaut : {ENV_RETENTION_DAYS}, sinon {DEFAULT_RETENTION_DAYS})",
    )
    add_web_commands(commands)
    return parser


# ---------------------------------------------------------------------------------------------
# Context: databases and knowledge base


class Console:
    def __init__(self, args: argparse.Namespace, out=None):
        self.args = args
        self.out = out or sys.stdout
        self._tracker: Optional[Engine] = None

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    @property
    def tracker_url(self) -> str:
        return self.args.db or tracker_db_url(endpoints=self.args.endpoints)

    @property
    def helpdesk_url(self) -> str:
        if self.args.helpdesk_db:
            return self.args.helpdesk_db
        if os.environ.get("KA2_HELPDESK_DB_URL"):
            return helpdesk_db_url()
        return self.tracker_url

    @property
    def tracker(self) -> Engine:
        if self._tracker is None:
            # hide_parameters: a failed statement's values (conversation ids, texts) stay out of the logs.
            self._tracker = sa.create_engine(self.tracker_url, future=True, hide_parameters=True)
        return self._tracker

    @property
    def kb(self) -> KnowledgeBase:
        return get_knowledge_base()

    def messages_since(self, since: dt.date) -> List[conversations.UserMessage]:
        if not conversations.events_table_exists(self.tracker):
            print(
                f"ka2-staff : attention : pas de conversations (table « events ») dans {redacted(self.tracker_url)}",
                file=sys.stderr,
            )
        return conversations.read_messages(self.tracker, local_midnight(since))


# ---------------------------------------------------------------------------------------------
# Commands


def excerpt(text: str, width: int = EXCERPT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def run_search(console: Console) -> int:
    hits = rank_answers(console.kb, console.args.question, console.args.nombre)
    if not hits:
        console.say("Aucune réponse trouvée dans la base de connaissances. Reformulez avec d'autres mots.")
        return 1
    console.say(f"{len(hits)} réponse(s) pour « {console.args.question} », la plus pertinente d'abord :")
    for rank, hit in enumerate(hits, 1):
        console.say()
        console.say(f"{rank}. {hit.label}  [{hit.entry_id}]  (score {hit.score:g}, fichier {hit.file})")
        for line in hit.answer.splitlines():
            console.say(f"   {line}")
        console.say(f"   {hit.source}")
    return 0


def run_unanswered(console: Console) -> int:
    since = console.args.since or default_since()
    groups = reports.group_unanswered(console.messages_since(since), console.args.seuil)
    ratings = helpdesk_store.list_feedback(since=as_utc(local_midnight(since)), db_url=console.helpdesk_url)
    down_rated = reports.down_rated_by_answer(ratings)
    total = sum(g.count for g in groups)
    console.say(f"Messages sans réponse depuis le {since:%d/%m/%Y} : {total}, en {len(groups)} groupe(s).")
    for group in groups:
        reasons = ", ".join(reason for reason, _ in group.reasons.most_common())
        console.say()
        console.say(f"{group.count} × « {group.text} »  ({reasons})")
        for variant in group.variants[:5]:
            console.say(f"      aussi : « {variant} »")
        if group.closest_intents:
            console.say(f"      intention la plus proche : {', '.join(group.closest_intents)}")
        console.say(
            f"      dernier : {group.last_seen:%d/%m/%Y %H:%M} ; conversations : {', '.join(group.senders[:5])}"
        )
    console.say()
    if down_rated:
        console.say(f"Réponses notées 👎 depuis le {since:%d/%m/%Y} :")
        for answer_id, items in down_rated:
            entry = console.kb.get(answer_id)
            label = f" – {entry['label']}" if entry else ""
            console.say(f"{len(items)} × 👎 {answer_id}{label}")
            for rating in items:
                console.say(f"      question : « {rating.question or '(non enregistrée)'} » ({rating.sender_id})")
    else:
        console.say(f"Aucune réponse notée 👎 depuis le {since:%d/%m/%Y}.")
    if console.args.csv:
        with open(console.args.csv, "w", encoding="utf-8-sig", newline="") as handle:
            reports.write_unanswered_csv(handle, groups, down_rated)
        console.say(f"\nExport CSV écrit : {console.args.csv}")
    return 0


def percent(value: float) -> str:
    return f"{100 * value:.1f} %".replace(".", ",")


def run_stats(console: Console) -> int:
    since = console.args.since or default_since()
    utc_since = as_utc(local_midnight(since))
    stats = reports.compute_stats(
        since,
        console.messages_since(since),
        helpdesk_store.list_handoffs(status=None, since=utc_since, db_url=console.helpdesk_url),
        helpdesk_store.list_feedback(since=utc_since, db_url=console.helpdesk_url),
    )
    say = console.say
    say(f"Statistiques depuis le {since:%d/%m/%Y}")
    say(f"Conversations : {stats.conversations}")
    say(f"Messages des utilisateurs : {stats.user_messages}")
    say(f"Taux de repli (messages incompris) : {percent(stats.fallback_rate)} ({stats.fallbacks} message(s))")
    say(f"Messages hors sujet : {stats.out_of_scope}")
    say(f"Demandes de contact : {stats.handoffs} (dont {stats.handoffs_done} traitée(s))")
    satisfaction = f", {percent(stats.satisfaction)} de 👍" if stats.satisfaction is not None else ""
    say(f"Notes des réponses : {stats.ratings_up} 👍, {stats.ratings_down} 👎{satisfaction}")
    say()
    say("Par jour (date : conversations, messages) :")
    for day, conversations_count, messages in stats.per_day:
        say(f"  {day:%d/%m/%Y} : {conversations_count}, {messages}")
    say()
    say("Intentions les plus fréquentes :")
    for intent, count in stats.top_intents:
        say(f"  {intent} : {count}")
    say()
    say("Par canal (canal : conversations, messages) :")
    for channel, conversations_count, messages in stats.by_channel:
        say(f"  {channel} : {conversations_count}, {messages}")
    return 0


def handoff_line(handoff: helpdesk_store.StoredHandoff) -> str:
    created = handoff.created_at.strftime("%d/%m/%Y %H:%M") if handoff.created_at else "?"
    entry = get_knowledge_base().get(handoff.agency_id) if handoff.agency_id else None
    agency = entry.get("short", entry["label"]) if entry else (handoff.agency_id or "agence ?")
    status = "traitée" if handoff.status == helpdesk_store.STATUS_DONE else "à traiter"
    notified = "notifiée" if handoff.notified_at else "non notifiée"
    channel = conversations.conversation_channel(handoff.sender_id, handoff.channel)
    return (
        f"n° {handoff.id}  {created}  {agency}  {channel}  {handoff.name} <{handoff.email}>  "
        f"« {excerpt(handoff.question, 50)} »  ({status}, {notified})"
    )


def run_handoffs(console: Console) -> int:
    url = console.helpdesk_url
    command = console.args.handoff_command
    if command == "list":
        handoffs = helpdesk_store.list_handoffs(STATUS_CHOICES[console.args.statut], db_url=url)
        console.say(f"{len(handoffs)} demande(s) de contact ({console.args.statut}).")
        for handoff in handoffs:
            console.say(handoff_line(handoff))
        return 0
    handoff = helpdesk_store.get_handoff(console.args.id, db_url=url)
    if handoff is None:
        raise ConsoleError(f"aucune demande n° {console.args.id}")
    if command == "show":
        console.say(describe_handoff(handoff, console.kb))
        return 0
    if command == "notify":
        outcome = notify.notify_handoff(handoff.id, db_url=url, kb=console.kb)
        console.say(NOTIFY_OUTCOMES[outcome].format(id=handoff.id, agency=handoff.agency_id or "?"))
        return 0 if outcome == notify.SENT else 1
    helpdesk_store.mark_done(handoff.id, db_url=url)
    console.say(f"Demande n° {handoff.id} ({handoff.name}) marquée comme traitée.")
    return 0


def forget_targets(console: Console, typed: str) -> List[str]:
    """The conversation id(s) `forget` erases for what staff typed (a bare id is looked up per channel)."""
    candidates = conversations.candidate_ids(typed)
    found = conversations.existing_ids(console.tracker, candidates)
    found += [i for i in helpdesk_store.senders_with_records(candidates, console.helpdesk_url) if i not in found]
    if len(found) > 1:
        listed = ", ".join(sorted(found, key=candidates.index))
        raise ConsoleError(
            f"plusieurs conversations correspondent à « {typed} » : {listed} ; "
            "relancez avec l'identifiant complet de celle à effacer (ex. ka2-staff forget tg:12345)"
        )
    return found or candidates[:1]


def run_forget(console: Console) -> int:
    typed = console.args.sender.strip()
    (sender,) = forget_targets(console, typed)
    events = conversations.delete_conversation(console.tracker, sender)
    deleted = helpdesk_store.forget(sender, db_url=console.helpdesk_url)
    if not (events or deleted.handoffs or deleted.feedback):
        searched = ", ".join(conversations.candidate_ids(typed))
        console.say(f"Aucune donnée pour « {typed} » (cherché : {searched}) : rien n'a été effacé.")
        return 0
    channel = f" ({conversations.conversation_channel(sender)})" if conversations.namespace(sender) else ""
    console.say(
        f"Données de « {sender} »{channel} effacées : {events} événement(s) de conversation, "
        f"{deleted.handoffs} demande(s) de contact, {deleted.feedback} note(s)."
    )
    return 0


def run_purge(console: Console) -> int:
    days = console.args.days if console.args.days is not None else retention_days()
    if days < 0:
        raise ConsoleError("le nombre de jours doit être positif ou nul")
    now = dt.datetime.now()
    purged = conversations.delete_events_older_than(console.tracker, now - dt.timedelta(days=days))
    deleted = helpdesk_store.purge(days, db_url=console.helpdesk_url, now=as_utc(now))
    console.say(
        f"Conservation : {days} jour(s). Supprimé : {purged.conversations} conversation(s) entière(s), "
        f"{purged.events} événement(s) en tout (dont {purged.trimmed_events} dans "
        f"{purged.trimmed_conversations} conversation(s) encore active(s)), "
        f"{deleted.handoffs} demande(s) de contact, {deleted.feedback} note(s)."
    )
    return 0


COMMANDS: Dict[str, Callable[[Console], int]] = {
    "search": run_search,
    "unanswered": run_unanswered,
    "stats": run_stats,
    "handoffs": run_handoffs,
    "forget": run_forget,
    "purge": run_purge,
    "users": lambda console: run_users(console),
    "web": lambda console: run_web(console),
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(args)
    try:
        return COMMANDS[args.command](console)
    except (ConsoleError, DatabaseConfigError, KnowledgeError) as error:
        print(f"ka2-staff : erreur : {error}", file=sys.stderr)
        return 1
    except sa.exc.SQLAlchemyError as error:
        url = args.db or "la base configurée"
        print(f"ka2-staff : erreur de base de données ({redacted(url) if args.db else url}) : {error}", file=sys.stderr)
        return 1


# ---------------------------------------------------------------------------------------------
# The web console: accounts and the server (staff/web)


def add_web_commands(commands) -> None:
    users = commands.add_parser(
        "users", help="comptes de la console web", description="Comptes du personnel pour la console web."
    )
    actions = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="créer un compte (ou changer son agence et son mot de passe)",
        description="Crée un compte de la console web. Le mot de passe est demandé au clavier, ou lu sur "
        "l'entrée standard quand ce n'est pas un terminal (echo ... | ka2-staff users add ...).",
    )
    add.add_argument("email", metavar="EMAIL", help="adresse e-mail de la personne (son identifiant)")
    add.add_argument("--agency", required=True, choices=["bij", "aef", "all"], help="bij, aef, ou all (administration)")
    actions.add_parser("list", help="lister les comptes", description="Lister les comptes de la console web.")
    commands.add_parser(
        "web",
        help="démarrer la console web (http://127.0.0.1:8001/)",
        description="Démarre la console web (variables KA2_STAFF_SECRET, KA2_STAFF_HOST, KA2_STAFF_PORT).",
    )


def read_new_password(stdin=None) -> str:
    import getpass

    stdin = stdin or sys.stdin
    if stdin.isatty():
        password = getpass.getpass("Mot de passe : ")
        if getpass.getpass("Le même, une seconde fois : ") != password:
            raise ConsoleError("les deux mots de passe ne sont pas identiques")
        return password
    return stdin.readline().rstrip("\r\n")


def run_users(console: Console) -> int:
    from ka2 import staff_store
    from staff.web import auth

    url = console.helpdesk_url
    if console.args.users_command == "list":
        for user in staff_store.list_users(url):
            console.say(f"{user.email}  {user.agency}  {'actif' if user.active else 'désactivé'}")
        return 0
    password = read_new_password()
    problem = auth.password_problem(password)
    if problem:
        raise ConsoleError(problem)
    try:
        staff_store.add_user(console.args.email, console.args.agency, auth.hash_password(password), url)
    except ValueError as error:
        raise ConsoleError(str(error)) from None
    staff_store.audit("ka2-staff (terminal)", "compte enregistré", f"{console.args.email} ({console.args.agency})", url)
    console.say(f"Compte {console.args.email} enregistré ({console.args.agency}) : il peut se connecter à la console.")
    return 0


def run_web(console: Console) -> int:
    from staff.web.__main__ import main as serve

    return serve()


if __name__ == "__main__":
    sys.exit(main())
