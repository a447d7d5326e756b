"""What the console reports, computed from user messages, ratings and handoff requests (pure)."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, TextIO, Tuple

from ka2.helpdesk_store import RATING_DOWN, RATING_UP, STATUS_DONE, StoredHandoff, StoredRating

from .conversations import LOW_CONFIDENCE, REASON_FALLBACK, REASON_OUT_OF_SCOPE, UserMessage, unanswered_reasons
from .grouping import group_indices

TOP_INTENTS = 10


@dataclass
class UnansweredGroup:
    """Similar unanswered messages: the first one stands for the group."""

    messages: List[UserMessage] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)

    @property
    def text(self) -> str:
        return self.messages[0].text

    @property
    def count(self) -> int:
        return len(self.messages)

    @property
    def variants(self) -> List[str]:
        seen = {self.text}
        out = []
        for message in self.messages[1:]:
            if message.text not in seen:
                seen.add(message.text)
                out.append(message.text)
        return out

    @property
    def closest_intents(self) -> List[str]:
        found = Counter(m.closest_intent or m.intent for m in self.messages if (m.closest_intent or m.intent))
        return [name for name, _ in found.most_common(3)]

    @property
    def last_seen(self) -> dt.datetime:
        return max(m.when for m in self.messages)

    @property
    def senders(self) -> List[str]:
        return sorted({m.sender_id for m in self.messages})


def group_unanswered(messages: Sequence[UserMessage], threshold: float = LOW_CONFIDENCE) -> List[UnansweredGroup]:
    """Unanswered messages grouped by similarity, most frequent group first."""
    kept = [(message, reasons) for message in messages if (reasons := unanswered_reasons(message, threshold))]
    groups: List[UnansweredGroup] = []
    for (message, reasons), index in zip(kept, group_indices([message.text for message, _ in kept]), strict=False):
        if index == len(groups):
            groups.append(UnansweredGroup())
        groups[index].messages.append(message)
        groups[index].reasons.update(reasons)
    return sorted(groups, key=lambda g: (-g.count, -g.last_seen.timestamp()))


def down_rated_by_answer(ratings: Sequence[StoredRating]) -> List[Tuple[str, List[StoredRating]]]:
    """👎 ratings grouped by answer, most criticised answer first."""
    by_answer: Dict[str, List[StoredRating]] = defaultdict(list)
    for rating in ratings:
        if rating.rating == RATING_DOWN:
            by_answer[rating.answer_id].append(rating)
    return sorted(by_answer.items(), key=lambda item: (-len(item[1]), item[0]))


CSV_COLUMNS = [
    "type",
    "nombre",
    "message",
    "variantes",
    "raisons",
    "intention_proche",
    "derniere_date",
    "conversations",
]


# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...), +cmd|...):
# user text is prefixed with an apostrophe, which the spreadsheet shows as plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A cell safe to open in a spreadsheet (numbers as they are, text never a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_unanswered_csv(
    out: TextIO, groups: Sequence[UnansweredGroup], down_rated: Sequence[Tuple[str, List[StoredRating]]]
) -> None:
    """Semicolon-separated CSV (what a French spreadsheet expects): one row per group and per 👎 question."""
    writer = SafeRows(csv.writer(out, delimiter=";").writerow)
    writer.writerow(CSV_COLUMNS)
    for group in groups:
        writer.writerow(["non_repondu", *group_cells(group), " ".join(group.senders)])
    for answer_id, ratings in down_rated:
        for rating in ratings:
            writer.writerow(
                [
                    "note_negative",
                    1,
                    rating.question,
                    "",
                    "réponse jugée inutile (👎)",
                    answer_id,
                    rating.created_at.strftime("%Y-%m-%d %H:%M") if rating.created_at else "",
                    rating.sender_id,
                ]
            )


def group_cells(group: UnansweredGroup) -> List[object]:
    """A group's cells in the exports: count, message, variants, reasons, closest intents, last seen."""
    return [
        group.count,
        group.text,
        " | ".join(group.variants),
        ", ".join(reason for reason, _ in group.reasons.most_common()),
        ", ".join(group.closest_intents),
        group.last_seen.strftime("%Y-%m-%d %H:%M"),
    ]


@dataclass(frozen=True)
class SafeRows:
    """A csv writer's `writerow` with every cell passed through csv_cell."""

    write: Callable[[Iterable[object]], object]

    def writerow(self, row: Iterable[object]) -> None:
        self.write([csv_cell(cell) for cell in row])


@dataclass
class Stats:
    since: dt.date
    conversations: int
    user_messages: int
    per_day: List[Tuple[dt.date, int, int]]  # (day, conversations, user messages)
    top_intents: List[Tuple[str, int]]
    fallbacks: int
    out_of_scope: int
    by_channel: List[Tuple[str, int, int]]  # (channel, conversations, user messages)
    handoffs: int
    handoffs_done: int
    ratings_up: int
    ratings_down: int

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.user_messages if self.user_messages else 0.0

    @property
    def satisfaction(self) -> Optional[float]:
        rated = self.ratings_up + self.ratings_down
        return self.ratings_up / rated if rated else None


def compute_stats(
    since: dt.date,
    messages: Sequence[UserMessage],
    handoffs: Sequence[StoredHandoff],
    ratings: Sequence[StoredRating],
) -> Stats:
    conversations_by_day: Dict[dt.date, set] = defaultdict(set)
    messages_by_day: Counter = Counter()
    conversations_by_channel: Dict[str, set] = defaultdict(set)
    messages_by_channel: Counter = Counter()
    intents: Counter = Counter()
    fallbacks = out_of_scope = 0
    for message in messages:
        conversations_by_day[message.day].add(message.sender_id)
        messages_by_day[message.day] += 1
        conversations_by_channel[message.channel].add(message.sender_id)
        messages_by_channel[message.channel] += 1
        if message.intent:
            intents[message.intent] += 1
        reasons = unanswered_reasons(message, threshold=0.0)
        fallbacks += REASON_FALLBACK in reasons
        out_of_scope += REASON_OUT_OF_SCOPE in reasons
    return Stats(
        since=since,
        conversations=len({m.sender_id for m in messages}),
        user_messages=len(messages),
        per_day=[(day, len(conversations_by_day[day]), messages_by_day[day]) for day in sorted(messages_by_day)],
        top_intents=intents.most_common(TOP_INTENTS),
        fallbacks=fallbacks,
        out_of_scope=out_of_scope,
        by_channel=[
            (channel, len(conversations_by_channel[channel]), count)
            for channel, count in messages_by_channel.most_common()
        ],
        handoffs=len(handoffs),
        handoffs_done=sum(h.status == STATUS_DONE for h in handoffs),
        ratings_up=sum(r.rating == RATING_UP for r in ratings),
        ratings_down=sum(r.rating == RATING_DOWN for r in ratings),
    )
