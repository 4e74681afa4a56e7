"""The facet engine: which published initiatives carry which facet values, as bitmaps.

Every published initiative gets a dense number, its *position*, in publication
order (oldest 0); each facet value holds a compressed bitmap (pyroaring) of the
positions that carry it. A combination of filters is then an intersection of
bitmaps, every facet count the cardinality of one more intersection, and page k
of the newest-first list a selection by rank: micro- to milliseconds, whatever
the size of the bank or of the result. PostgreSQL stays the source of truth: it
answers text search (ids, cached per text and catalogue version), ranking and
the rows of the page shown. See docs/facet-engine.md for the design and what
was measured and rejected.

Keeping every process current without a shared cache: every write that changes
what the engine holds (an initiative saved or deleted, its goals, targets,
purposes, actor types, focus areas, tags, campaigns, partners or adoptions changed)
adds a row to the `CatalogueChange` log in the same transaction (signals, connected in
`InitiativesConfig.ready`). Each process's engine reads the log rows after the
last one it applied, at most every `ENGINE_POLL_SECONDS` (and at once after a
change made by its own process), and reloads just those initiatives: a few
small queries, never a rebuild per change. The log's newest id is the
*catalogue version* that keys every cache of what the public sees.
"""

import hashlib
import logging
import random
import threading
import time
from array import array
from collections import Counter, defaultdict, deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache, wraps
from itertools import groupby
from operator import itemgetter

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import Signal
from django.utils import timezone
from pyroaring import BitMap

from initiatives import search
from initiatives.models import (
    RECENT_MONTHS,
    ActorType,
    Adoption,
    CatalogueChange,
    Initiative,
    Municipality,
    Participation,
    freshness_cutoff,
)

logger = logging.getLogger(__name__)

# Facets whose values an initiative has several of; a filter on them wants all chosen values.
# (campaign: the campaigns it answers, networks.Campaign through Initiative.campaigns.)
MULTI = ("goal", "target", "purpose", "actor_type", "focus_area", "tag", "campaign")
# Facets with one value per initiative (group: any of its actor types' groups; updated:
# "year" when its owners updated it in the last RECENT_MONTHS, see Engine._refresh_recent).
SINGLE = ("group", "county", "municipality", "phase", "involvement", "updated")
TEXT_CACHE_SECONDS = 600
# A log id that was skipped (a transaction still open when a later one committed) is
# looked for again for this long before it counts as rolled back.
GAP_SECONDS = 120
# More unseen changes than this and a fresh build is cheaper than reloading them one by one.
MAX_INCREMENTAL = 5000
CHUNK = 20_000
# Related initiatives are scored among this many of the newest sharing each kind.
RELATED_WINDOW = 300


@dataclass
class Selection:
    """What a list asks for, in the engine's keys (ids, goal numbers, choice values)."""

    all_of: dict[str, list] = field(default_factory=dict)  # MULTI facet -> keys, all wanted
    one_of: dict[str, object] = field(default_factory=dict)  # SINGLE facet -> key
    adopted: str = ""  # "yes", "no" or "" for either
    organisation: int | None = None  # led or partnered by this organisation
    text: BitMap | None = None  # positions matching the text search

    def without(self, *names: str) -> "Selection":
        return Selection(
            all_of={k: v for k, v in self.all_of.items() if k not in names},
            one_of={k: v for k, v in self.one_of.items() if k not in names},
            adopted="" if "adopted" in names else self.adopted,
            organisation=self.organisation,
            text=self.text,
        )


def locked(method):
    """Run an Engine method under its lock: a thread of a threaded server (runserver) may
    be reading the change log into it at the same moment."""

    @wraps(method)
    def run(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)

    return run


class PositionIndex:
    """Initiative id -> position, in an array indexed by id: 4 bytes an id, where a dict
    would take about a hundred (1 000 000 initiatives: 4 MB, not 100 MB)."""

    ABSENT = -1

    def __init__(self) -> None:
        self.positions = array("i")

    def get(self, pk: int, default=None):
        if 0 <= pk < len(self.positions):
            position = self.positions[pk]
            if position != self.ABSENT:
                return position
        return default

    def __contains__(self, pk: int) -> bool:
        return self.get(pk) is not None

    def __getitem__(self, pk: int) -> int:
        position = self.get(pk)
        if position is None:
            raise KeyError(pk)
        return position

    def __setitem__(self, pk: int, position: int) -> None:
        if pk >= len(self.positions):
            grow = max(pk + 1 - len(self.positions), len(self.positions) // 2, 1024)
            self.positions.extend([self.ABSENT] * grow)
        self.positions[pk] = position

    def pop(self, pk: int, default=None):
        position = self.get(pk, default)
        if position is not default:
            self.positions[pk] = self.ABSENT
        return position


class Engine:
    """One process's index of the published catalogue. Thread-safe: one lock guards it."""

    def __init__(self, poll_seconds: float | None = None) -> None:
        self.poll_seconds = settings.ENGINE_POLL_SECONDS if poll_seconds is None else poll_seconds
        self.lock = threading.RLock()
        self.built = False
        self.dirty = False

    # --- Keeping current ------------------------------------------------------------

    def current(self) -> "Engine":
        """This engine, after reading the changes made since it last looked."""
        with self.lock:
            if not self.built:
                self.build()
            elif self.dirty or time.monotonic() - self.polled >= self.poll_seconds:
                self.poll()
            self._refresh_recent()
        return self

    def build(self) -> None:
        """Read every published initiative and its facets from the database."""
        started = time.monotonic()
        # The log position first: a change committed during the build is read again later.
        last = CatalogueChange.objects.order_by("-id").values_list("id", "token").first()
        self.last_id, self.last_token = last or (0, 0)
        self.gaps: dict[int, float] = {}
        self.pk_of = array("q")  # position -> initiative id
        self.stamp_of = array("d")  # position -> publication time, for the order check
        self.pos_of = PositionIndex()
        self.published = BitMap()
        self.sets: dict[str, dict[object, BitMap]] = {}
        self.title_order: array | None = None
        # "Updated in the last year" from this day on (an ordinal): _fill adds to it.
        self.recent_from = _recent_from()
        # (log id, initiative id) of the changes read since the build, for text_hits.
        self.changes: deque[tuple[int, int]] = deque(maxlen=MAX_INCREMENTAL)
        self._load_reference()
        rows = (
            Initiative.objects.filter(status=Initiative.Status.PUBLISHED)
            .order_by("published_at", "pk")
            .values_list(*ROW_FIELDS)
        )
        with connection.chunked_cursor() as cursor:
            cursor.execute(*rows.query.sql_with_params())
            while chunk := cursor.fetchmany(CHUNK):
                found = defaultdict(list)
                for row in chunk:
                    self._place(row, None, found)
                self._fill(found)
        self._add_relations(None)
        self.built, self.dirty, self.polled = True, False, time.monotonic()
        self.version = self.built_at = self.last_id
        logger.info(
            "Facet engine built: %d published initiatives in %.2f s",
            len(self.published),
            time.monotonic() - started,
        )

    def poll(self) -> None:
        """Apply the log rows written since the last look (and late ones from open transactions)."""
        self.dirty, self.polled = False, time.monotonic()
        rows = list(
            CatalogueChange.objects.filter(Q(id__gte=self.last_id) | Q(id__in=list(self.gaps)))
            .order_by("id")
            .values_list("id", "token", "initiative_id")
        )
        if self.last_id and not any(
            (row_id, token) == (self.last_id, self.last_token) for row_id, token, _ in rows
        ):
            # The row we stopped at is gone: a rolled-back transaction, a restored or pruned
            # database. What we hold cannot be trusted.
            self.build()
            return
        new = [row for row in rows if row[0] > self.last_id or row[0] in self.gaps]
        if not new:
            self._expire_gaps()
            return
        if len(new) > MAX_INCREMENTAL or any(pk is None for _, _, pk in new):
            self.build()
            return
        seen = {row[0] for row in new}
        if max(seen) - self.last_id > MAX_INCREMENTAL:
            self.build()
            return
        now = time.monotonic()
        # Ids skipped since the last look may belong to transactions still open; an empty
        # log at the build has nothing before it to wait for.
        for row_id in range(self.last_id + 1 if self.last_id else max(seen), max(seen)):
            if row_id not in seen:
                self.gaps.setdefault(row_id, now)
        for row_id in seen:
            self.gaps.pop(row_id, None)
        self._expire_gaps()
        newest = max(new)
        if newest[0] > self.last_id:
            self.last_id, self.last_token = newest[0], newest[1]
        self.changes.extend((row_id, pk) for row_id, _, pk in new)
        if not self.apply({pk for _, _, pk in new}):
            self.build()
            return
        self.version = self.last_id

    def _expire_gaps(self) -> None:
        limit = time.monotonic() - GAP_SECONDS
        self.gaps = {row_id: seen for row_id, seen in self.gaps.items() if seen > limit}

    def apply(self, pks: set[int]) -> bool:
        """Read these initiatives again; False when one would break the publication order."""
        rows = Initiative.objects.filter(pk__in=pks).values_list(*ROW_FIELDS, "status")
        published = []
        old_positions = {}
        for row in rows:
            if row[-1] == Initiative.Status.PUBLISHED:
                published.append(row[:-1])
        for pk in pks:
            old = self.pos_of.pop(pk, None)
            if old is not None:
                old_positions[pk] = old
        self._forget(BitMap(old_positions.values()))
        found = defaultdict(list)
        placed = []
        for row in sorted(published, key=lambda row: (_stamp(row[1]), row[0])):
            pk, stamp = row[0], _stamp(row[1])
            old = old_positions.get(pk)
            if old is not None and self.stamp_of[old] == stamp:
                placed.append(self._place(row, old, found))
            elif (
                not self.stamp_of
                or stamp > self.stamp_of[-1]
                or (stamp == self.stamp_of[-1] and pk > self.pk_of[-1])
            ):
                placed.append(self._place(row, None, found))
            else:
                return False  # published before the newest one: only a build can place it
        self._fill(found)
        if placed:
            self._add_relations([self.pk_of[pos] for pos in placed])
        self.title_order = None
        return True

    # --- Filling the bitmaps ---------------------------------------------------------

    def _load_reference(self) -> None:
        self.county_of = dict(Municipality.objects.values_list("pk", "county_id"))
        self.group_of = dict(ActorType.objects.values_list("pk", "group"))

    def _bitmap(self, facet: str, key) -> BitMap:
        values = self.sets.setdefault(facet, {})
        bitmap = values.get(key)
        if bitmap is None:
            bitmap = values[key] = BitMap()
        return bitmap

    def _place(self, row: tuple, position: int | None, found: dict[tuple, list[int]]) -> int:
        """Give a published initiative's row a position (the next one, or its old one) and
        note its single-valued facets in `found`, for _fill."""
        pk, published_at, phase, involvement, municipality, county, lead, owner_updated_at = row
        if position is None:
            position = len(self.pk_of)
            self.pk_of.append(pk)
            self.stamp_of.append(_stamp(published_at))
        self.pos_of[pk] = position
        found["published", None].append(position)
        if phase:
            found["phase", phase].append(position)
        if involvement:
            found["involvement", involvement].append(position)
        if municipality:
            found["municipality", municipality].append(position)
            county = self.county_of.get(municipality)
            if county is None:  # a municipality added since the build
                self._load_reference()
                county = self.county_of.get(municipality)
        if county:
            found["county", county].append(position)
        found["lead", lead].append(position)
        # The day (in the site's time zone) its owners last updated it (LAST_OWNER_UPDATE).
        last_update = owner_updated_at or published_at
        if last_update:
            if last_update.tzinfo is None:  # SQLite through a raw cursor: stored in UTC
                last_update = last_update.replace(tzinfo=UTC)
            found["updated_on", _local_day(last_update.timestamp())].append(position)
        return position

    def _fill(self, found: dict[tuple, list[int]]) -> None:
        for (facet, key), positions in found.items():
            if facet == "published":
                self.published.update(positions)
            else:
                self._bitmap(facet, key).update(positions)
                if facet == "updated_on" and key >= self.recent_from:
                    self._bitmap("updated", "year").update(positions)

    def _refresh_recent(self) -> None:
        """ "Updated in the last year" depends on the date as well as on the catalogue: an
        initiative ages out of it at midnight without any write. The set is the union of the
        per-day sets from the first day within the last RECENT_MONTHS, made again when that
        day changes (once a day) and kept current by _fill and _forget in between."""
        first = _recent_from()
        if first == self.recent_from:
            return
        self.recent_from = first
        days = self.sets.get("updated_on", {})
        self.sets["updated"] = {
            "year": BitMap().union(*(bitmap for day, bitmap in days.items() if day >= first))
        }

    def _add_relations(self, pks: list[int] | None) -> None:
        """Goals, targets, purposes, actor types, focus areas, tags, partners and adoptions of
        `pks` (None: of everything) into the bitmaps, one query per relation.

        Rows come sorted by value through a server-side cursor (on PostgreSQL; a plain one
        would hold the whole result in memory), a bitmap filled per run of one value: at
        1 000 000 initiatives there are some 15 000 000 of them.
        """
        positions = self.pos_of.positions
        size, absent = len(positions), PositionIndex.ABSENT
        adoptions: Counter[int] = Counter()
        for facet, queryset in _relations(pks):
            sql, params = queryset.query.sql_with_params()
            with connection.chunked_cursor() as cursor:
                cursor.execute(sql, params)
                while rows := cursor.fetchmany(CHUNK):
                    for key, run in groupby(rows, itemgetter(0)):
                        found = [
                            positions[pk] for _, pk in run if pk < size and positions[pk] != absent
                        ]
                        if found:
                            self._bitmap(facet, key).update(found)
                            if facet == "adopter":
                                adoptions.update(found)
        for position, total in adoptions.items():
            self._bitmap("adoptions", total).add(position)
        # A stakeholder group holds what any of its actor types holds.
        actor_types = self.sets.get("actor_type", {})
        if any(key not in self.group_of for key in actor_types):
            self._load_reference()
        self.sets["group"] = {
            group: BitMap().union(
                *(bitmap for key, bitmap in actor_types.items() if self.group_of.get(key) == group)
            )
            for group in set(self.group_of.values())
        }

    def _forget(self, positions: BitMap) -> None:
        if not positions:
            return
        self.published -= positions
        for values in self.sets.values():
            for bitmap in values.values():
                bitmap -= positions

    # --- Asking ----------------------------------------------------------------------

    @locked
    def values(self, facet: str, key) -> BitMap:
        return self.sets.get(facet, {}).get(key) or BitMap()

    @locked
    def adopted(self) -> BitMap:
        return BitMap().union(*self.sets.get("adoptions", {}).values())

    @locked
    def involving(self, organisation: int) -> BitMap:
        return self.values("lead", organisation) | self.values("partner", organisation)

    @locked
    def select(self, selection: Selection) -> BitMap:
        """The positions of the published initiatives that `selection` asks for."""
        result = self.published
        parts = []
        if selection.organisation is not None:
            parts.append(self.involving(selection.organisation))
        for facet, keys in selection.all_of.items():
            parts.extend(self.values(facet, key) for key in keys)
        for facet, key in selection.one_of.items():
            parts.append(self.values(facet, key))
        if selection.text is not None:
            parts.append(selection.text)
        # Smallest first: each intersection is then at most as large as the smallest.
        for part in sorted(parts, key=len):
            result = result & part
            if not result:
                return result
        if selection.adopted == "yes":
            result = result & self.adopted()
        elif selection.adopted == "no":
            result = result - self.adopted()
        return result

    @locked
    def positions(self, pks) -> BitMap:
        """The positions of those of `pks` that are published."""
        return BitMap(self.pos_of[pk] for pk in pks if pk in self.pos_of)

    @locked
    def newest(self, result: BitMap, start: int, stop: int) -> list[int]:
        """Initiative ids of ranks start..stop-1 of `result`, newest first."""
        size = len(result)
        return [self.pk_of[result[size - 1 - rank]] for rank in range(start, min(stop, size))]

    @locked
    def most_adopted(self, result: BitMap, start: int, stop: int) -> list[int]:
        """Ranks start..stop-1 of `result` by number of adoptions, then newest first."""
        buckets = self.sets.get("adoptions", {})
        groups = [result & buckets[total] for total in sorted(buckets, reverse=True)]
        groups.append(result - self.adopted())
        wanted, found = stop - start, []
        for group in groups:
            if start >= len(group):
                start -= len(group)
                continue
            found.extend(self.newest(group, start, start + wanted - len(found)))
            start = 0
            if len(found) >= wanted:
                break
        return found

    @locked
    def by_title(self, result: BitMap, start: int, stop: int) -> list[int]:
        """Ranks start..stop-1 of `result` in the database's title order."""
        if self.title_order is None:
            ids = (
                Initiative.objects.filter(status=Initiative.Status.PUBLISHED)
                .order_by("title", "pk")
                .values_list("pk", flat=True)
            )
            self.title_order = array(
                "q", (self.pos_of[pk] for pk in ids.iterator(chunk_size=CHUNK) if pk in self.pos_of)
            )
        wanted, found = stop - start, []
        for position in self.title_order:
            if position in result:
                if start:
                    start -= 1
                    continue
                found.append(self.pk_of[position])
                if len(found) >= wanted:
                    break
        return found

    @locked
    def newest_first(self, pks) -> list[int]:
        """Those of `pks` that are published, newest first."""
        positions = self.positions(pks)
        return [self.pk_of[position] for position in reversed(positions)]

    @locked
    def changed_since(self, version: int) -> set[int] | None:
        """The initiatives changed after catalogue version `version`; None if not known."""
        known_from = self.built_at
        if len(self.changes) == self.changes.maxlen:
            known_from = self.changes[0][0]  # older ones have been let go
        if version < known_from:
            return None
        return {pk for row_id, pk in self.changes if row_id > version}

    @locked
    def published_count(self) -> int:
        return len(self.published)

    @locked
    def published_since(self, count: int):
        """When the `count`-th newest published initiative was published; None if fewer."""
        if count >= len(self.published):
            return None
        position = self.published[len(self.published) - 1 - count]
        return datetime.fromtimestamp(self.stamp_of[position], tz=UTC)

    @locked
    def sharing(self, pk: int, shared: list[tuple[int, str, list]], limit: int) -> dict[int, int]:
        """The `limit` published initiatives sharing the most with `pk`, with their scores.

        `shared` holds (weight, facet, keys): each value an initiative shares with `pk`
        adds its kind's weight. Only the newest RELATED_WINDOW initiatives sharing each
        kind are scored, so the cost does not grow with the bank.
        """
        own = self.pos_of.get(pk)
        scores: Counter[int] = Counter()
        for weight, facet, keys in shared:
            bitmaps = [self.values(facet, key) for key in keys]
            sharing = BitMap().union(*bitmaps)
            if own is not None:
                sharing.discard(own)
            for position in sharing[-RELATED_WINDOW:] if len(sharing) > RELATED_WINDOW else sharing:
                scores[position] += weight * sum(position in bitmap for bitmap in bitmaps)
        best = sorted(scores, key=lambda position: (-scores[position], -position))[:limit]
        return {self.pk_of[position]: scores[position] for position in best}

    @locked
    def led_by(self, organisations) -> BitMap:
        """What any of `organisations` leads."""
        return BitMap().union(*(self.values("lead", pk) for pk in organisations))

    @locked
    def led_count(self, organisation: int) -> int:
        return len(self.values("lead", organisation))

    @locked
    def public_organisation_count(self) -> int:
        """Organisations leading, partnering in or adopting a published initiative."""
        seen = set()
        for facet in ("lead", "partner", "adopter"):
            seen.update(key for key, bitmap in self.sets.get(facet, {}).items() if bitmap)
        return len(seen)

    @locked
    def adoption_count(self) -> int:
        """Adoptions of published initiatives."""
        return sum(total * len(bitmap) for total, bitmap in self.sets.get("adoptions", {}).items())

    @locked
    def adoption_totals(self, pks: list[int]) -> dict[int, int]:
        buckets = self.sets.get("adoptions", {})
        totals = {}
        for pk in pks:
            position = self.pos_of.get(pk)
            totals[pk] = (
                0
                if position is None
                else next((n for n, bitmap in buckets.items() if position in bitmap), 0)
            )
        return totals


ROW_FIELDS = (
    "pk",
    "published_at",
    "phase",
    "involvement",
    "municipality_id",
    "county_id",
    "lead_organisation_id",
    "owner_updated_at",
)


def _stamp(moment) -> float:
    return moment.timestamp() if moment else 0.0


def _recent_from() -> int:
    """The first day (an ordinal) of "updated in the last year" today."""
    return freshness_cutoff(RECENT_MONTHS).date().toordinal()


def _local_day(stamp: float) -> int:
    """The day (an ordinal, in the site's time zone) of a moment: by its hour, once per
    hour seen (the time zone's offsets are whole hours), not once per initiative."""
    return _day_of_hour(int(stamp // 3600))


@lru_cache(maxsize=65_536)
def _day_of_hour(hour: int) -> int:
    moment = datetime.fromtimestamp(hour * 3600, tz=UTC)
    return timezone.localdate(moment, timezone.get_default_timezone()).toordinal()


def _relations(pks: list[int] | None):
    """(facet, queryset of (key, initiative id) sorted by key) for every relation indexed."""
    from django.contrib.contenttypes.models import ContentType
    from taggit.models import TaggedItem

    def of(queryset, key, column="initiative_id"):
        if pks is not None:
            queryset = queryset.filter(**{f"{column}__in": pks})
        return queryset.values_list(key, column).order_by(key, column)

    tagged = TaggedItem.objects.filter(content_type=ContentType.objects.get_for_model(Initiative))
    return [
        ("goal", of(Initiative.goals.through.objects, "goal__number")),
        ("target", of(Initiative.targets.through.objects, "target_id")),
        ("purpose", of(Initiative.purposes.through.objects, "purpose_id")),
        ("actor_type", of(Initiative.actor_types.through.objects, "actortype_id")),
        ("focus_area", of(Initiative.focus_areas.through.objects, "focusarea_id")),
        ("tag", of(tagged, "tag_id", "object_id")),
        # The networks app's campaigns, through the reverse relation (no import of networks).
        ("campaign", of(Initiative.campaigns.through.objects, "campaign_id")),
        ("partner", of(Participation.objects, "organisation_id")),
        ("adopter", of(Adoption.objects, "organisation_id")),
    ]


def in_order(queryset, pks: list[int], key: str = "pk") -> list:
    """The rows of `queryset` whose `key` is one of these ids, in their order (one query)."""
    rows = {getattr(row, key): row for row in queryset.filter(**{f"{key}__in": pks})}
    return [rows[pk] for pk in pks if pk in rows]


# --- The process's engine ------------------------------------------------------------

_engine: Engine | None = None
_engine_lock = threading.Lock()


def engine() -> Engine:
    """This process's engine, current."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = Engine()
    return _engine.current()


def reset() -> None:
    """Forget this process's engine (tests: each starts from its own database)."""
    global _engine
    _engine = None


def catalogue_version() -> int:
    """A number that changes whenever what the public can see changes; keys cached views of it."""
    return engine().version


# --- Text search through the cache ---------------------------------------------------


@dataclass
class TextHits:
    """The initiatives matching a text, best first, how the search went (search.Mode), and
    the catalogue version they were found at."""

    mode: str
    ranked: list[tuple[int, float]]  # (initiative id, rank)
    version: int
    suggestion: str = ""  # a corrected text that finds something ("Did you mean")

    @property
    def pks(self) -> list[int]:
        return [pk for pk, _ in self.ranked]


# A cached search is brought up to date by re-checking at most this many changed initiatives.
PATCH_LIMIT = 200


def text_hits(text: str, current: Engine) -> TextHits:
    """The ids matching `text` among the published, from the cache or from the database.

    The cache keeps each text's hits across catalogue versions: an older entry is brought
    up to date by re-checking only the initiatives changed since (one small query), so a
    publication does not make every search start again.
    """
    key = text_key(text)
    hits = cache.get(key)
    if hits is not None and hits.version >= current.version:
        return hits
    # Fewer words matched, or none: whether a change adds a better match needs a fresh search.
    if hits is not None and hits.mode not in (search.Mode.ANY, search.Mode.FUZZY):
        changed = current.changed_since(hits.version)
        if changed is not None and len(changed) <= PATCH_LIMIT:
            hits = _patched(hits, search.rematch(text, changed) if changed else [], changed, current)  # fmt: skip
        else:
            hits = None
    else:
        hits = None
    if hits is None:
        found = search.matching_ids(text, current)
        hits = TextHits(found.mode, found.ranked, current.version, found.suggestion)
    cache.set(key, hits, TEXT_CACHE_SECONDS)
    return hits


def text_key(text: str) -> str:
    """Where a text's hits are cached: per synonym list too, so an edit makes them stale."""
    synonyms, _ = search.synonym_table()
    return f"initiatives:text:{synonyms}:" + hashlib.sha256(text.encode()).hexdigest()


def _patched(hits: TextHits, found, changed: set[int], current: Engine) -> TextHits | None:
    """`hits` with the `changed` initiatives replaced by those of them `found` matching now;
    None when only a fresh search can tell (a capped list lost some, an exact one grew past
    the cap or emptied)."""
    from initiatives.search import CAP, Mode

    ranked = [(pk, rank) for pk, rank in hits.ranked if pk not in changed] + found
    if hits.mode == Mode.CAPPED:
        if len(ranked) < CAP:
            return None
        newest = set(current.newest_first(pk for pk, _ in ranked)[:CAP])
        ranked = [(pk, rank) for pk, rank in ranked if pk in newest]
    elif not ranked or len(ranked) > CAP:
        return None
    position = current.pos_of
    ranked.sort(key=lambda item: (-item[1], -position.get(item[0], -1)))
    return TextHits(hits.mode, ranked, current.version, hits.suggestion)


# --- Writing the log --------------------------------------------------------------


def initiatives_changed(pks) -> None:
    """Record that these initiatives (their status, fields or relations) changed."""
    rows = [CatalogueChange(initiative_id=pk, token=_token()) for pk in set(pks)]
    if rows:
        CatalogueChange.objects.bulk_create(rows)
        _changed_here()
        if any(row.pk and row.pk % PRUNE_EVERY == 0 for row in rows):
            prune_log()


def everything_changed() -> None:
    """Record a change too wide to list (bulk loads): every engine builds afresh."""
    CatalogueChange.objects.create(initiative_id=None, token=_token())
    _changed_here()


PRUNE_EVERY = 1000


def prune_log(keep: int = 10_000) -> int:
    """Delete all but the newest `keep` log rows (an engine that needed them builds afresh)."""
    newest = CatalogueChange.objects.order_by("-id").values_list("id", flat=True).first()
    if newest is None:
        return 0
    deleted, _ = CatalogueChange.objects.filter(id__lte=newest - keep).delete()
    return deleted


_unlogged = threading.local()


@contextmanager
def unlogged():
    """Write without a log row per change (bulk work, which calls everything_changed())."""
    _unlogged.active = True
    try:
        yield
    finally:
        _unlogged.active = False


def _token() -> int:
    return random.getrandbits(62)


# Sent (no arguments) whenever this process writes to the change log, inside the
# transaction: what is cached of the catalogue elsewhere (the statistics) may recount.
catalogue_changed = Signal()


def _changed_here() -> None:
    catalogue_changed.send(sender=CatalogueChange)
    # This process made the change: its engine looks at once instead of after the interval
    # (and again after the commit, when other connections can see it too).
    if _engine is not None:
        _engine.dirty = True
        transaction.on_commit(_mark_dirty)


def _mark_dirty() -> None:
    if _engine is not None:
        _engine.dirty = True


def _on_save(sender, instance, **kwargs) -> None:
    if kwargs.get("raw") or getattr(_unlogged, "active", False):
        return  # fixtures: load_demo_data records one change for all it loads
    initiatives_changed([getattr(instance, "initiative_id", None) or instance.pk])


def _on_relation(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if getattr(_unlogged, "active", False):
        return
    if action not in ("post_add", "post_remove", "post_clear", "pre_clear"):
        return
    if isinstance(instance, Initiative):
        # Its own relations, or (campaigns, defined on the other side) a reverse one.
        if action != "pre_clear":
            initiatives_changed([instance.pk])
    elif action == "pre_clear":
        # A goal's (or tag's) initiatives cleared from its side: who they were, before they go.
        initiatives_changed(instance.initiatives.values_list("pk", flat=True))
    elif action != "post_clear" and pk_set:
        initiatives_changed(pk_set)


def _before_campaign_delete(sender, instance, **kwargs) -> None:
    if getattr(_unlogged, "active", False):
        return
    initiatives_changed(Initiative.objects.filter(campaigns=instance).values_list("pk", flat=True))


def _refresh_adopted(sender, instance, **kwargs) -> None:
    # Adoption notes are part of their initiative's search document: every way one is
    # saved or deleted (reporting, editing the note, withdrawing, the admin) ends here.
    if kwargs.get("raw") or getattr(_unlogged, "active", False):
        return  # bulk loads refresh the vectors of what they load
    Initiative.objects.filter(pk=instance.initiative_id).refresh_search_vectors()


def connect_signals() -> None:
    """Called from InitiativesConfig.ready: every write the engine depends on is logged."""
    from taggit.models import TaggedItem

    for model in (Initiative, Participation, Adoption):
        post_save.connect(_on_save, sender=model, dispatch_uid=f"engine-save-{model.__name__}")
        post_delete.connect(_on_save, sender=model, dispatch_uid=f"engine-delete-{model.__name__}")
    post_save.connect(_refresh_adopted, sender=Adoption, dispatch_uid="search-adoption-save")
    post_delete.connect(_refresh_adopted, sender=Adoption, dispatch_uid="search-adoption-delete")
    throughs = [
        Initiative.goals.through,
        Initiative.targets.through,
        Initiative.purposes.through,
        Initiative.actor_types.through,
        Initiative.focus_areas.through,
        TaggedItem,
        Initiative.campaigns.through,
    ]
    for through in throughs:
        m2m_changed.connect(_on_relation, sender=through, dispatch_uid=f"engine-m2m-{through.__name__}")  # fmt: skip
    # A campaign deleted takes its links with it without an m2m signal (nor a delete signal:
    # the links' model is auto-created): its initiatives are logged before it goes.
    campaign = Initiative._meta.get_field("campaigns").related_model
    pre_delete.connect(_before_campaign_delete, sender=campaign, dispatch_uid="engine-delete-campaign")  # fmt: skip
