"""Free-text search over initiatives: one function chooses how, by database.

On PostgreSQL: a stored, GIN-indexed tsvector in the `ideabank_nb` text search
configuration (Norwegian stemming after unaccent, so case, accents and
inflection don't matter), weighted title > summary > description, goals,
tags, organisations, focus areas and purposes > the rest; web-search syntax;
ranking; and a pg_trgm fallback on titles for misspelled words.
On SQLite: every word must occur in the title, summary or description.
"""

import json
import re
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    TrigramSimilarity,
    TrigramWordSimilarity,
)
from django.db import connection
from django.db.models import (
    Case,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from initiatives.models import ActorType, Initiative

CONFIG = "ideabank_nb"
# Above this many matches ranking every row costs too much: the newest CAP are ranked.
CAP = 1000
MAX_WORDS = 12
WEB_SEARCH_OPERATORS = re.compile(r'"|(^|\s)-\S|\bor\b', re.IGNORECASE)


# Facet keys: one integer per thing an initiative is tagged with, kind * 1 000 000 + id
# (goals by their number, stakeholder groups by their place in ActorType.Group).
FACET_KEY_BASE = {
    "goal": 1_000_000,
    "purpose": 2_000_000,
    "actor_type": 3_000_000,
    "focus_area": 4_000_000,
    "target": 5_000_000,
    "tag": 6_000_000,
    "group": 7_000_000,
}
# How SQLite (no facet keys) reaches each kind through the relations.
RELATION = {
    "goal": "goals__number",
    "purpose": "purposes",
    "actor_type": "actor_types",
    "focus_area": "focus_areas",
    "target": "targets",
    "tag": "tags",
}


def facet_key(kind: str, value) -> int:
    if kind == "group":
        return FACET_KEY_BASE[kind] + ActorType.Group.values.index(value)
    if kind == "goal":
        return FACET_KEY_BASE[kind] + int(value)
    return FACET_KEY_BASE[kind] + value.pk


def with_all(queryset: QuerySet, kind: str, values) -> QuerySet:
    """Initiatives tagged with every one of `values` of `kind`: one GIN lookup on PostgreSQL."""
    values = list(values)
    if not values:
        return queryset
    if on_postgresql():
        return queryset.filter(facet_keys__contains=[facet_key(kind, value) for value in values])
    if kind == "group":
        through = Initiative.actor_types.through.objects
        return queryset.filter(
            Exists(through.filter(initiative=OuterRef("pk"), actortype__group=values[0]))
        )
    for value in values:
        queryset = queryset.filter(**{RELATION[kind]: value})
    return queryset


class Mode:
    EXACT = "exact"
    CAPPED = "capped"  # more than CAP matched: the newest CAP matches, ranked
    FUZZY = "fuzzy"  # nothing matched the words: titles with close spellings


@dataclass
class SearchResult:
    queryset: QuerySet
    mode: str = Mode.EXACT


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def search(queryset: QuerySet, text: str) -> SearchResult:
    """Narrow `queryset` to initiatives matching `text`, annotated with `rank`: the
    queryset form of the search (InitiativeFilter.qs, the in-process benchmark); the pages
    take their matches from matching_ids through the facet engine."""
    text = " ".join(text.split()[:MAX_WORDS])
    if not text:
        return SearchResult(queryset.annotate(rank=Value(0.0, output_field=FloatField())))
    if on_postgresql():
        return _search_postgresql(queryset, text)
    return _search_simple(queryset, text)


def _search_postgresql(queryset: QuerySet, text: str) -> SearchResult:
    query = SearchQuery(text, search_type="websearch", config=CONFIG)
    matches = queryset.filter(search_vector=query)
    if matches.order_by()[: CAP + 1].count() > CAP:
        mode = Mode.CAPPED
        newest = matches.order_by("-published_at", "-pk").values_list("pk", flat=True)[:CAP]
        matches = queryset.filter(pk__in=list(newest))
    elif matches.exists() or WEB_SEARCH_OPERATORS.search(text):
        # Operators ("exact phrase", -without, or) mean the visitor asked for exactly this.
        mode = Mode.EXACT
    else:
        # Titles only: word similarity over every summary costs seconds at 100 000 initiatives.
        similar = queryset.filter(title__trigram_word_similar=text)
        return SearchResult(similar.annotate(rank=TrigramWordSimilarity(text, "title")), Mode.FUZZY)  # fmt: skip
    ranked = matches.annotate(rank=SearchRank(F("search_vector"), query, cover_density=False))
    return SearchResult(ranked, mode)


# Close spellings shown when nothing matches: enough to choose from, cheap to find.
FUZZY_CAP = 50


def matching_ids(text: str, catalogue) -> tuple[str, list[tuple[int, float]]]:
    """How a search for `text` goes (a Mode) and the published initiatives it finds, best
    first, with their rank: what the facet engine (initiatives.engine.text_hits) caches.

    On PostgreSQL at most CAP ids: with more matches, the newest CAP ranked; with none
    (and no operators), titles with close spellings in the trigram index's
    nearest-neighbour order. `catalogue` is the facet engine, which knows the publication
    order without asking. No query unpacks more than CAP stored vectors: matches are read
    through the GIN index within a window of recent publications (a BitmapAnd of the GIN
    index and the publication-order index) sized by the planner's estimate.
    """
    published = Initiative.objects.filter(status=Initiative.Status.PUBLISHED)
    text = " ".join(text.split()[:MAX_WORDS])
    if not text:
        return Mode.EXACT, []
    if not on_postgresql():
        found = _search_simple(published, text).queryset.order_by("-published_at", "-pk")
        return Mode.EXACT, [(pk, 1.0) for pk in found.values_list("pk", flat=True)]
    query = SearchQuery(text, search_type="websearch", config=CONFIG)
    matches = published.filter(search_vector=query).order_by().values_list("pk", flat=True)
    # Look among as many of the newest as should hold CAP matches, by the planner's estimate
    # of how many match in all (its statistics of the vectors' words), and more if not.
    published_count = catalogue.published_count()
    window = 2 * CAP * published_count // max(_estimated_rows(matches), 1)
    while True:
        since = catalogue.published_since(window)
        found = list(matches.filter(published_at__gte=since) if since else matches)
        if since is None or len(found) > CAP:
            newest = catalogue.newest_first(found)
            break
        window *= 4
    if newest or WEB_SEARCH_OPERATORS.search(text):
        # Operators ("exact phrase", -without, or) mean the visitor asked for exactly this.
        mode = Mode.CAPPED if len(newest) > CAP else Mode.EXACT
        ranked = (
            published.filter(pk__in=newest[:CAP])
            .annotate(rank=SearchRank(F("search_vector"), query, cover_density=False))
            .order_by("-rank", "-published_at", "-pk")
        )
        return mode, list(ranked.values_list("pk", "rank")) if newest else []
    # Titles only: word similarity over every summary costs seconds at 100 000 initiatives.
    # The GiST trigram index walks titles nearest first (KNN) and stops after FUZZY_CAP.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT id, title <->> %s FROM {Initiative._meta.db_table}
                WHERE status = %s AND title %%> %s ORDER BY title <->> %s LIMIT %s""",
            [text, Initiative.Status.PUBLISHED, text, text, FUZZY_CAP],
        )
        nearest = cursor.fetchall()
    # Equally near: the newest first, as everywhere else.
    nearest.sort(key=lambda row: (row[1], -row[0]))
    return Mode.FUZZY, [(pk, 1 - distance) for pk, distance in nearest]


def _estimated_rows(queryset: QuerySet) -> int:
    """How many rows PostgreSQL's planner expects `queryset` to give (EXPLAIN, not run)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def rematch(text: str, pks) -> list[tuple[int, float]]:
    """Which of `pks` (published) match `text` now, with their rank: how a cached search is
    brought up to date after a few initiatives changed, instead of searching again."""
    text = " ".join(text.split()[:MAX_WORDS])
    published = Initiative.objects.filter(status=Initiative.Status.PUBLISHED, pk__in=pks)
    if not on_postgresql():
        return [(pk, 1.0) for pk in _search_simple(published, text).queryset.values_list("pk", flat=True)]  # fmt: skip
    query = SearchQuery(text, search_type="websearch", config=CONFIG)
    found = published.filter(search_vector=query).annotate(
        rank=SearchRank(F("search_vector"), query, cover_density=False)
    )
    return list(found.values_list("pk", "rank"))


def _search_simple(queryset: QuerySet, text: str) -> SearchResult:
    for word in text.split():
        word = word.strip("\"'()+-")
        if word:
            queryset = queryset.filter(
                Q(title__icontains=word)
                | Q(summary__icontains=word)
                | Q(description__icontains=word)
            )
    return SearchResult(queryset.annotate(rank=Value(1.0, output_field=FloatField())))


def title_similarity(title: str):
    """How alike a title is to `title`, 0 to 1: trigram similarity on PostgreSQL, 0 elsewhere."""
    if on_postgresql():
        return TrigramSimilarity("title", title)
    return Value(0.0, output_field=FloatField())


def refresh_vectors(queryset: QuerySet) -> None:
    """Recompute the stored vectors of `queryset`'s initiatives in one UPDATE."""
    if not on_postgresql():
        return
    ids_sql, ids_params = queryset.values("pk").query.sql_with_params()
    content_type = ContentType.objects.get_for_model(Initiative)
    base = FACET_KEY_BASE
    group_index = " ".join(
        f"WHEN '{group}' THEN {index}" for index, group in enumerate(ActorType.Group.values)
    )
    sql = f"""
        UPDATE initiatives_initiative AS i SET facet_keys = ARRAY(
            SELECT {base["goal"]} + g.number FROM initiatives_initiative_goals ig
              JOIN initiatives_goal g ON g.id = ig.goal_id WHERE ig.initiative_id = i.id
            UNION SELECT {base["purpose"]} + purpose_id FROM initiatives_initiative_purposes
              WHERE initiative_id = i.id
            UNION SELECT {base["actor_type"]} + actortype_id FROM initiatives_initiative_actor_types
              WHERE initiative_id = i.id
            UNION SELECT {base["group"]} + CASE a."group" {group_index} END
              FROM initiatives_initiative_actor_types ia
              JOIN initiatives_actortype a ON a.id = ia.actortype_id WHERE ia.initiative_id = i.id
            UNION SELECT {base["focus_area"]} + focusarea_id FROM initiatives_initiative_focus_areas
              WHERE initiative_id = i.id
            UNION SELECT {base["target"]} + target_id FROM initiatives_initiative_targets
              WHERE initiative_id = i.id
            UNION SELECT {base["tag"]} + tag_id FROM taggit_taggeditem
              WHERE content_type_id = %s AND object_id = i.id
        ),
        search_vector =
            setweight(to_tsvector('{CONFIG}', i.title), 'A')
            || setweight(to_tsvector('{CONFIG}', i.summary), 'B')
            || setweight(to_tsvector('{CONFIG}', concat_ws(' ', i.description, related.words)), 'C')
            || setweight(to_tsvector('{CONFIG}', concat_ws(' ',
                    i.frame_goals, i.frame_roles, i.frame_financing, i.frame_expected_results,
                    i.frame_indicators, i.frame_effect_shown, i.results, i.lessons,
                    i.transfer_value, related.places)), 'D')
        FROM (
            SELECT x.id,
                concat_ws(' ',
                    (SELECT string_agg(g.short_nb || ' ' || g.short_en, ' ')
                       FROM initiatives_initiative_goals ig
                       JOIN initiatives_goal g ON g.id = ig.goal_id
                      WHERE ig.initiative_id = x.id),
                    (SELECT string_agg(t.name, ' ')
                       FROM taggit_taggeditem ti JOIN taggit_tag t ON t.id = ti.tag_id
                      WHERE ti.content_type_id = %s AND ti.object_id = x.id),
                    (SELECT o.name FROM initiatives_organisation o WHERE o.id = x.lead_organisation_id),
                    (SELECT string_agg(o.name, ' ')
                       FROM initiatives_participation p
                       JOIN initiatives_organisation o ON o.id = p.organisation_id
                      WHERE p.initiative_id = x.id),
                    (SELECT string_agg(f.name_nb || ' ' || f.name_en, ' ')
                       FROM initiatives_initiative_focus_areas ifa
                       JOIN initiatives_focusarea f ON f.id = ifa.focusarea_id
                      WHERE ifa.initiative_id = x.id),
                    (SELECT string_agg(p.name_nb || ' ' || p.name_en, ' ')
                       FROM initiatives_initiative_purposes ip
                       JOIN initiatives_purpose p ON p.id = ip.purpose_id
                      WHERE ip.initiative_id = x.id)
                ) AS words,
                concat_ws(' ',
                    (SELECT m.name FROM initiatives_municipality m WHERE m.id = x.municipality_id),
                    (SELECT c.name FROM initiatives_county c WHERE c.id = x.county_id)
                ) AS places
            FROM initiatives_initiative x
            WHERE x.id IN ({ids_sql})
        ) AS related
        WHERE related.id = i.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [content_type.pk, content_type.pk, *ids_params])


SIMILAR_WORD_MIN = 3  # shorter words ("og", "i", "en") match nearly everything
WORD = re.compile(r"\w+")


def similar_words(title: str, summary: str = "") -> list[str]:
    """The distinct words of `title` then `summary` worth matching on, at most MAX_WORDS."""
    words: dict[str, None] = {}
    for word in WORD.findall(f"{title} {summary}".lower()):
        if len(word) >= SIMILAR_WORD_MIN and not word.isdigit():
            words.setdefault(word)
    return list(words)[:MAX_WORDS]


def similar_to(
    title: str, summary: str = "", *, exclude_pk: int | None = None, limit: int = 5
) -> list:
    """Published initiatives like one being written, best first, so people adopt instead of
    duplicating.

    Any word of the title or summary may match (a search, by contrast, wants every word):
    on PostgreSQL an OR of the words' stemmed queries over the stored vectors, ranked over
    the newest CAP matches so the cost stays bounded; on SQLite the initiatives with most
    title words in their title or summary.
    """
    words = similar_words(title, summary)
    if not words:
        return []
    queryset = Initiative.objects.published().select_related("lead_organisation")
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    if on_postgresql():
        query = SearchQuery(words[0], search_type="plain", config=CONFIG)
        for word in words[1:]:
            query |= SearchQuery(word, search_type="plain", config=CONFIG)
        newest = (
            queryset.filter(search_vector=query).order_by("-published_at", "-pk").values("pk")[:CAP]
        )
        ranked = queryset.filter(pk__in=newest).annotate(
            rank=SearchRank(F("search_vector"), query, cover_density=False)
        )
        return list(ranked.order_by("-rank", "-published_at", "-pk")[:limit])
    title_words = similar_words(title) or words
    score = sum(
        (
            Case(
                When(Q(title__icontains=word) | Q(summary__icontains=word), then=1),
                default=0,
                output_field=IntegerField(),
            )
            for word in title_words
        ),
        start=Value(0),
    )
    matches = queryset.filter(
        reduce(or_, (Q(title__icontains=w) | Q(summary__icontains=w) for w in title_words))
    )
    return list(matches.annotate(score=score).order_by("-score", "-published_at", "-pk")[:limit])
