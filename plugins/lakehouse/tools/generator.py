"""Synthetic raw clickstream for the raw zone: newline-delimited JSON events and users per day.

The data is realistic enough to exercise the pipeline (sessions, a daily traffic curve, skewed
purchase amounts, user signups and profile updates) and salted with a known share of bad
records. The returned report says exactly what each file holds, so tests can check the marts
and quarantines against it instead of re-deriving expectations from the files.

Everything is drawn from one ``random.Random(seed)`` in a fixed order and no set is ever
iterated to drive a draw, so the same arguments rewrite the same bytes.
"""

from __future__ import annotations

import itertools
import json
import random
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Callable, Iterator

EVENT_CATEGORIES = (
    "valid",
    "malformed_json",
    "missing_event_id",
    "missing_user_id",
    "invalid_timestamp",
    "unknown_event_type",
    "duplicate",
    "late_event",
)
USER_CATEGORIES = (
    "valid",
    "superseded",
    "duplicate",
    "malformed_json",
    "missing_user_id",
    "invalid_timestamp",
)
# Kinds injected on purpose; "superseded" is not injected, it follows from later updates.
_EVENT_DEFECTS = EVENT_CATEGORIES[1:]
_USER_DEFECTS = ("duplicate", "malformed_json", "missing_user_id", "invalid_timestamp")

# Below these sizes forcing one of every defect per file would swamp the good data.
_MIN_EVENTS_FOR_ALL_DEFECTS = 200
_MIN_USERS_FOR_ALL_DEFECTS = 50

EVENT_TYPE_WEIGHTS = {"page_view": 55, "click": 20, "search": 10, "add_to_cart": 10, "purchase": 5}
_UNKNOWN_EVENT_TYPES = ("teleport", "pageview", "hover", "unknown")

# UTC traffic by hour: quiet nights, a morning ramp, the peak in the afternoon and evening.
_HOUR_WEIGHTS = (
    1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.0, 2.0, 3.0, 4.0, 4.5, 5.0,
    5.5, 6.0, 6.5, 7.0, 7.0, 7.5, 8.0, 8.0, 7.0, 5.0, 3.0, 2.0,
)  # fmt: skip

_PRODUCTS = (
    "wireless-headphones", "running-shoes", "coffee-grinder", "yoga-mat", "desk-lamp",
    "backpack", "water-bottle", "smart-watch", "bluetooth-speaker", "chef-knife",
    "office-chair", "sunglasses",
)  # fmt: skip
_SEARCH_TERMS = (
    "headphones", "running+shoes", "gift+ideas", "coffee", "lamp", "sale", "watch", "knife+set",
)  # fmt: skip

_FIRST_NAMES = (
    "Alice", "Bob", "Carla", "David", "Emma", "Farid", "Grace", "Hiro", "Isabel", "James",
    "Keira", "Liam", "Maria", "Noah", "Olivia", "Pedro", "Quinn", "Rahul", "Sofia", "Tom",
    "Ursula", "Victor", "Wei", "Yasmin", "Zoe", "Lukas", "Chloé", "Ananya", "Mateus", "Hannah",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Johnson", "Brown", "Garcia", "Müller", "Schmidt", "Martin", "Bernard", "Patel",
    "Sharma", "Silva", "Santos", "Taylor", "Wilson", "Dubois", "Fischer", "Kumar", "Oliveira",
    "Evans", "Thomas", "Weber", "Moreau", "Singh", "Costa", "Clarke", "Wagner", "Lopez", "Reddy",
)  # fmt: skip
_COUNTRY_WEIGHTS = {
    "US": 35, "GB": 12, "IN": 12, "DE": 10, "FR": 8, "BR": 8, "CA": 5, "ES": 4, "NL": 3, "AU": 3,
}  # fmt: skip

# Share of all users that sign up on days after the first, when there are later days.
_LATER_SIGNUP_SHARE = 0.15
# Share of all users whose profile is updated on each later day.
_UPDATE_SHARE = 0.02
_FIRST_USER_NUMBER = 101
_MEAN_EXTRA_SESSION_EVENTS = 4
_MAX_SESSION_EVENTS = 25


@dataclass
class GenerationReport:
    days: list[date]
    files: list[Path]
    # per raw table: lines written per category over the whole generation
    counts: dict[str, dict[str, int]]
    # event_ids that must end up in the fct_events mart, per partition date
    expected_event_ids: dict[date, set[str]]
    # the final expected user records in dim_users:
    # user_id -> dict(email, name, country, created_at)
    expected_users: dict[str, dict]
    # per raw table and partition date: lines written per category; ``counts`` is its sum
    daily_counts: dict[str, dict[date, dict[str, int]]] = field(default_factory=dict)

    def lines_landed(self, table: str, day: date | None = None) -> int:
        """Non-blank lines written for ``table``, over all days or for one partition date."""
        if day is None:
            return sum(self.counts[table].values())
        return sum(self.daily_counts[table].get(day, {}).values())

    def to_json(self) -> dict:
        return {
            "days": [d.isoformat() for d in self.days],
            "files": [str(p) for p in self.files],
            "counts": self.counts,
            "daily_counts": {
                table: {d.isoformat(): c for d, c in sorted(per_day.items())}
                for table, per_day in self.daily_counts.items()
            },
            "lines_landed": {table: self.lines_landed(table) for table in self.counts},
            "expected_event_ids": {
                d.isoformat(): sorted(ids) for d, ids in sorted(self.expected_event_ids.items())
            },
            "expected_users": {
                uid: self.expected_users[uid] for uid in sorted(self.expected_users)
            },
        }


def write_report(report: GenerationReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


@dataclass
class _Line:
    """One line of a file before it is written; ids are given once the line order is final."""

    category: str
    record: dict | None = None
    original: _Line | None = None  # set on duplicates only: the line they copy
    text: str = ""


@dataclass
class _Session:
    session_id: str
    user_id: str
    start: datetime
    end: datetime


class _Roster:
    """Users landed so far, kept in created_at order so "created before t" is a prefix."""

    def __init__(self) -> None:
        self._created: list[datetime] = []
        self._ids: list[str] = []

    def add(self, user_id: str, created_at: datetime) -> None:
        if self._created and created_at < self._created[-1]:
            raise ValueError("users must be added in created_at order")
        self._created.append(created_at)
        self._ids.append(user_id)

    def pick(self, rng: random.Random, at: datetime) -> str:
        # The first day's users all predate the earliest timestamp ever drawn, so the prefix
        # is never empty.
        return self._ids[rng.randrange(bisect_left(self._created, at))]


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _time_in_day(rng: random.Random, day: date) -> datetime:
    hour = rng.choices(range(24), weights=_HOUR_WEIGHTS)[0]
    return _midnight(day) + timedelta(
        hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60)
    )


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _bad_timestamp(rng: random.Random, day: date) -> str:
    return rng.choice(
        (
            f"{day.year}-02-30T25:61:00Z",
            f"{day.isoformat()}T{rng.randint(24, 29)}:{rng.randint(60, 99)}:00Z",
            f"{day.year}-13-{day.day:02d}T10:00:00Z",
            "not-a-date",
            day.strftime("%d/%m/%Y %H:%M"),
        )
    )


def _truncate(rng: random.Random, text: str) -> str:
    # Any prefix that stops before the closing brace is an unterminated object, so never parses.
    return text[: rng.randint(12, len(text) - 2)]


def _split_defects(
    rng: random.Random, kinds: tuple[str, ...], n_bad: int, all_kinds: bool
) -> list[str]:
    if all_kinds:
        return list(kinds) + [rng.choice(kinds) for _ in range(n_bad - len(kinds))]
    return [rng.choice(kinds) for _ in range(n_bad)]


def _interleave(rng: random.Random, valid: list[_Line], bad: list[_Line]) -> list[_Line]:
    """Scatter bad lines among the valid ones; a duplicate lands somewhere after its original.

    Bad lines go into the gaps between valid lines rather than being inserted one by one, which
    keeps large files linear.
    """
    gaps: list[list[_Line]] = [[] for _ in range(len(valid) + 1)]
    for line in bad:
        if line.category == "duplicate":
            source = rng.randrange(len(valid))
            line.original = valid[source]
            gaps[rng.randint(source + 1, len(valid))].append(line)
        else:
            gaps[rng.randint(0, len(valid))].append(line)
    ordered: list[_Line] = []
    for position, gap in enumerate(gaps):
        rng.shuffle(gap)
        ordered += gap
        if position < len(valid):
            ordered.append(valid[position])
    return ordered


def _page(rng: random.Random, event_type: str, products: list[str]) -> str:
    product = f"/products/{rng.choice(products)}"
    if event_type == "page_view":
        return _weighted(rng, {"/": 3, product: 5, "/cart": 1, "/checkout": 0.5})
    if event_type == "click":
        return _weighted(rng, {"/": 2, product: 3})
    if event_type == "search":
        return f"/search?q={rng.choice(_SEARCH_TERMS)}"
    if event_type == "add_to_cart":
        return product
    return "/checkout"


def _event(
    rng: random.Random, user_id: str, session_id: str, moment: datetime, products: list[str]
) -> dict:
    event_type = _weighted(rng, EVENT_TYPE_WEIGHTS)
    # event_id goes first to keep the documented key order; it is filled in once lines are placed.
    record = {
        "event_id": "",
        "user_id": user_id,
        "event_type": event_type,
        "page": _page(rng, event_type, products),
        "timestamp": _ts(moment),
        "session_id": session_id,
    }
    if event_type == "purchase":
        # Log-normal around a ~45 basket: mostly modest orders with a long tail of big ones.
        record["amount"] = max(0.01, round(rng.lognormvariate(3.8, 0.8), 2))
    return record


def _session_products(rng: random.Random) -> list[str]:
    return rng.sample(_PRODUCTS, rng.randint(1, 3))


def _day_events(
    rng: random.Random, day: date, lines: int, bad_share: float, roster: _Roster
) -> list[_Line]:
    n_bad = min(round(lines * bad_share), lines - 1)
    all_kinds = bad_share > 0 and lines >= _MIN_EVENTS_FOR_ALL_DEFECTS
    if all_kinds:
        n_bad = max(n_bad, len(_EVENT_DEFECTS))
    sessions, valid = _day_sessions(rng, day, lines - n_bad, roster)
    # Stragglers from earlier days get session numbers after today's.
    late_session_numbers = itertools.count(len(sessions) + 1)
    bad = [
        _bad_event(rng, day, kind, sessions, roster, late_session_numbers)
        for kind in _split_defects(rng, _EVENT_DEFECTS, n_bad, all_kinds)
    ]
    stamp = day.strftime("%Y%m%d")
    ordered = _interleave(rng, valid, bad)
    sequence = 0
    for line in ordered:
        if line.original is not None:
            line.text = line.original.text
            continue
        if "event_id" in line.record:
            sequence += 1
            line.record["event_id"] = f"evt-{stamp}-{sequence:06d}"
        line.text = json.dumps(line.record, ensure_ascii=False)
        if line.category == "malformed_json":
            line.text = _truncate(rng, line.text)
    return ordered


def _day_sessions(
    rng: random.Random, day: date, n_valid: int, roster: _Roster
) -> tuple[list[_Session], list[_Line]]:
    """The day's sessions, and their ``n_valid`` events in time order."""
    day_end = _midnight(day) + timedelta(days=1)
    drafts: list[tuple[datetime, list[str], str, list[datetime]]] = []
    produced = 0
    while produced < n_valid:
        start = _time_in_day(rng, day)
        length = min(1 + int(rng.expovariate(1 / _MEAN_EXTRA_SESSION_EVENTS)), _MAX_SESSION_EVENTS)
        moments = [start]
        while len(moments) < min(length, n_valid - produced):
            step = moments[-1] + timedelta(seconds=rng.randint(3, 240))
            if step >= day_end:
                break
            moments.append(step)
        drafts.append((start, _session_products(rng), roster.pick(rng, start), moments))
        produced += len(moments)
    drafts.sort(key=lambda d: d[0])

    stamp = day.strftime("%Y%m%d")
    sessions: list[_Session] = []
    valid: list[tuple[datetime, int, _Line]] = []
    for number, (start, products, user_id, moments) in enumerate(drafts, start=1):
        session = _Session(f"sess-{stamp}-{number:04d}", user_id, start, moments[-1])
        sessions.append(session)
        for moment in moments:
            record = _event(rng, user_id, session.session_id, moment, products)
            valid.append((moment, len(valid), _Line("valid", record)))
    valid.sort(key=lambda v: v[:2])
    return sessions, [line for _, _, line in valid]


def _bad_event(
    rng: random.Random,
    day: date,
    kind: str,
    sessions: list[_Session],
    roster: _Roster,
    late_session_numbers: Iterator[int],
) -> _Line:
    """One event line with exactly one defect, ``kind``."""
    if kind == "duplicate":
        return _Line(kind)
    if kind == "late_event":
        # A straggler from an earlier day belongs to none of today's sessions.
        moment = _time_in_day(rng, day - timedelta(days=rng.randint(1, 3)))
        session_id = f"sess-{day:%Y%m%d}-{next(late_session_numbers):04d}"
        user_id = roster.pick(rng, moment)
        return _Line(kind, _event(rng, user_id, session_id, moment, _session_products(rng)))
    # Other defects ride on a real session so that the defect is the record's only flaw.
    session = rng.choice(sessions)
    span = int((session.end - session.start).total_seconds()) + 60
    day_end = _midnight(day) + timedelta(days=1)
    moment = min(session.start + timedelta(seconds=rng.randint(0, span)), day_end - timedelta(seconds=1))
    record = _event(rng, session.user_id, session.session_id, moment, _session_products(rng))
    if kind == "missing_event_id":
        del record["event_id"]
    elif kind == "missing_user_id":
        del record["user_id"]
    elif kind == "invalid_timestamp":
        record["timestamp"] = _bad_timestamp(rng, day)
    elif kind == "unknown_event_type":
        record["event_type"] = rng.choice(_UNKNOWN_EVENT_TYPES)
        record.pop("amount", None)
    return _Line(kind, record)


def _user_record(number: int, name: str, created_at: str, country: str) -> dict:
    return {
        "user_id": f"usr-{number}",
        "email": f"user{number}@example.com",
        "name": name,
        "created_at": created_at,
        "country": country,
    }


def _name(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"


def _updated(rng: random.Random, current: dict) -> dict:
    """The same user with one profile change: a move abroad or a new surname."""
    changed = dict(current)
    if rng.random() < 0.5:
        changed["country"] = _weighted(
            rng, {c: w for c, w in _COUNTRY_WEIGHTS.items() if c != current["country"]}
        )
    else:
        first, last = current["name"].split(" ", 1)
        changed["name"] = f"{first} {rng.choice([n for n in _LAST_NAMES if n != last])}"
    return changed


def _signups_per_day(users: int, days: int) -> list[int]:
    if days == 1:
        return [users]
    later = min(round(users * _LATER_SIGNUP_SHARE), users - 1)
    per_day = [later // (days - 1) + (1 if i < later % (days - 1) else 0) for i in range(days - 1)]
    return [users - later, *per_day]


def _user_lines(
    rng: random.Random,
    day: date,
    valid: list[_Line],
    bad_share: float,
    all_kinds: bool,
    bad_numbers: itertools.count,
) -> list[_Line]:
    n_bad = round(len(valid) * bad_share / (1 - bad_share))
    if all_kinds:
        n_bad = max(n_bad, len(_USER_DEFECTS))
    bad: list[_Line] = []
    for kind in _split_defects(rng, _USER_DEFECTS, n_bad, all_kinds):
        if kind == "duplicate":
            bad.append(_Line(kind))
            continue
        # Bad users get ids no good record uses, so they can never shadow a real profile.
        record = _user_record(
            next(bad_numbers),
            _name(rng),
            _ts(_time_in_day(rng, day)),
            _weighted(rng, _COUNTRY_WEIGHTS),
        )
        if kind == "missing_user_id":
            del record["user_id"]
        elif kind == "invalid_timestamp":
            record["created_at"] = _bad_timestamp(rng, day)
        bad.append(_Line(kind, record))
    ordered = _interleave(rng, valid, bad)
    for line in ordered:
        if line.original is not None:
            line.text = line.original.text
            continue
        line.text = json.dumps(line.record, ensure_ascii=False)
        if line.category == "malformed_json":
            line.text = _truncate(rng, line.text)
    return ordered


def generate(
    raw_dir: Path,
    start: date,
    days: int = 3,
    events_per_day: int = 1000,
    users: int = 200,
    bad_share: float = 0.05,
    seed: int = 42,
    progress: Callable[[str], None] | None = None,
) -> GenerationReport:
    """Write ``days`` daily partitions of events and users under ``raw_dir`` and describe them;
    ``progress`` is told as each day is drawn and each file written (a big day takes minutes)."""
    if days < 1 or events_per_day < 1 or users < 1:
        raise ValueError("days, events_per_day and users must all be at least 1")
    if not 0 <= bad_share <= 0.5:
        raise ValueError(f"bad_share={bad_share}; expected a share between 0 and 0.5")
    rng = random.Random(seed)
    day_list = [start + timedelta(days=i) for i in range(days)]
    tell = progress or (lambda message: None)
    lines = _daily_lines(rng, day_list, events_per_day, users, bad_share, tell)
    latest = _mark_superseded(lines["users"], day_list)
    files, daily_counts = _write_partitions(Path(raw_dir), lines, day_list, tell)
    counts = {
        table: {c: sum(per_day[d][c] for d in day_list) for c in categories}
        for table, per_day, categories in (
            ("events", daily_counts["events"], EVENT_CATEGORIES),
            ("users", daily_counts["users"], USER_CATEGORIES),
        )
    }
    return GenerationReport(
        days=day_list,
        files=files,
        counts=counts,
        expected_event_ids={
            day: {
                line.record["event_id"] for line in lines["events"][day] if line.category == "valid"
            }
            for day in day_list
        },
        expected_users={
            user_id: {k: line.record[k] for k in ("email", "name", "country", "created_at")}
            for user_id, line in sorted(latest.items())
        },
        daily_counts=daily_counts,
    )


def _daily_lines(
    rng: random.Random, day_list: list[date], events_per_day: int, users: int, bad_share: float,
    tell: Callable[[str], None],
) -> dict[str, dict[date, list[_Line]]]:
    """Each day's user lines (sign-ups, updates of users landed before, bad lines) and event
    lines, in the order they are drawn from ``rng``."""
    signups = _signups_per_day(users, len(day_list))
    all_user_kinds = bad_share > 0 and users >= _MIN_USERS_FOR_ALL_DEFECTS

    # The first day's users signed up well before it, early enough that even a late event
    # dated three days back can reference any of them.
    oldest = _midnight(day_list[0]) - timedelta(days=365)
    first_created = sorted(
        oldest + timedelta(seconds=rng.randrange(361 * 86400)) for _ in range(signups[0])
    )

    roster = _Roster()
    current: dict[str, dict] = {}
    next_number = _FIRST_USER_NUMBER
    bad_numbers = itertools.count(_FIRST_USER_NUMBER + users)
    lines: dict[str, dict[date, list[_Line]]] = {"events": {}, "users": {}}
    for index, day in enumerate(day_list):
        created = (
            first_created
            if index == 0
            else sorted(_time_in_day(rng, day) for _ in range(signups[index]))
        )
        valid_users: list[_Line] = []
        for moment in created:
            record = _user_record(
                next_number, _name(rng), _ts(moment), _weighted(rng, _COUNTRY_WEIGHTS)
            )
            next_number += 1
            roster.add(record["user_id"], moment)
            valid_users.append(_Line("valid", record))
        if index > 0:
            landed = list(current)
            n_updates = min(max(1, round(users * _UPDATE_SHARE)), len(landed))
            for user_id in rng.sample(landed, n_updates):
                valid_users.append(_Line("valid", _updated(rng, current[user_id])))
        for line in valid_users:
            current[line.record["user_id"]] = line.record
        lines["users"][day] = _user_lines(
            rng, day, valid_users, bad_share, all_user_kinds, bad_numbers
        )
        lines["events"][day] = _day_events(rng, day, events_per_day, bad_share, roster)
        tell(f"drew {day} (day {index + 1} of {len(day_list)}): {len(lines['events'][day])} event lines")
    return lines


def _mark_superseded(user_lines: dict[date, list[_Line]], day_list: list[date]) -> dict[str, _Line]:
    """Only once every day is drawn is it known which user lines a later update replaces: those
    become "superseded". Returns each user's latest valid line."""
    latest: dict[str, _Line] = {}
    for day in day_list:
        for line in user_lines[day]:
            if line.category == "valid":
                latest[line.record["user_id"]] = line
    final_lines = {id(line) for line in latest.values()}
    for day in day_list:
        for line in user_lines[day]:
            if line.category == "valid" and id(line) not in final_lines:
                line.category = "superseded"
    return latest


def _write_partitions(
    raw_dir: Path, lines: dict[str, dict[date, list[_Line]]], day_list: list[date], tell: Callable[[str], None]
) -> tuple[list[Path], dict[str, dict[date, dict[str, int]]]]:
    """One file per table and day, and the lines of each category it holds."""
    files: list[Path] = []
    daily_counts: dict[str, dict[date, dict[str, int]]] = {"events": {}, "users": {}}
    for day in day_list:
        for table, categories in (("events", EVENT_CATEGORIES), ("users", USER_CATEGORIES)):
            path = raw_dir / table / f"dt={day.isoformat()}" / f"{table}-000.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(
                "".join(line.text + "\n" for line in lines[table][day]).encode("utf-8")
            )
            files.append(path)
            tell(f"wrote {path} ({len(lines[table][day])} lines)")
            tally = dict.fromkeys(categories, 0)
            for line in lines[table][day]:
                tally[line.category] += 1
            daily_counts[table][day] = tally
    return files, daily_counts
