"""Free-text search over initiatives: one function chooses how, by database.

On PostgreSQL: a stored, GIN-indexed tsvector in the `ideabank_nb` text search
configuration (Norwegian stemming after unaccent, so case, accents and
inflection don't matter), weighted title > summary > description, goals,
tags, organisations, focus areas and purposes > the rest (adoption notes and
compound parts among the rest); web-search syntax; ranking. Each query word
also matches its synonyms (SearchSynonym, edited by moderators) and, for a
compound, its parts together (klesbytte: kles and bytte). When all the words
together find nothing, the initiatives matching most of them (Mode.ANY); when
none does, "Did you mean" (the nearest words of the vocabulary, SearchWord, by
pg_trgm) and then a pg_trgm fallback on titles.
On SQLite: every word (or a synonym) must occur in the title, summary,
description or an adoption note, else most of them; suggestions by difflib.

Compounds are split in Python, at index time (the parts join the document) and
at query time, against the vocabulary of the initiatives' own words: a split
needs both parts to be words of the bank (an inflected form and a linking s or
e allowed: matsvinn = mat + svinn, barnehage = barn(e) + hage). Not PostgreSQL's
Ispell/Hunspell dictionaries with Debian's hunspell-no (not measured here): they
need files copied into the server's sharedir (root on the database machine,
impossible on managed PostgreSQL) and are loaded into every connection's memory
on first use; a vocabulary split needs nothing installed, and knows the bank's
own words (names, jargon) that a general dictionary lacks. Measured on the relevance set (tests/initiatives/test_relevance.py,
55 queries, demo data), recall@5: all of this 1.00; without compound splitting
0.96; without synonyms 0.96; without the any-word fallback 0.99; with none of
the three 0.91, and the issue's table 0.67 instead of 1.00.
"""

import difflib
import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from functools import reduce
from itertools import islice
from operator import and_, or_

from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    TrigramSimilarity,
    TrigramWordSimilarity,
)
from django.core.cache import cache
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

from initiatives.models import ActorType, Adoption, Initiative, SearchSynonym, SearchWord

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
    ANY = "any"  # nothing matched every word: those matching most of the words
    FUZZY = "fuzzy"  # nothing matched any word: the suggestion's matches, or close titles


@dataclass
class SearchResult:
    queryset: QuerySet
    mode: str = Mode.EXACT


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


# --- Words, synonyms and compounds ------------------------------------------------

# A word of the vocabulary: letters only, long enough to be worth suggesting or splitting on.
VOCABULARY_WORD = re.compile(r"[^\W\d_]{3,60}")
QUERY_WORD = re.compile(r"[^\W_]+")
# Endings an inflected form may add (svinn: svinnet; bytte: bytting) and the linking
# letters of a compound's first part (klesbytte, barnehage).
ENDINGS = ("", "e", "en", "er", "et", "ene", "a", "ar", "s", "ing", "ingen")
LINKS = ("", "s", "e")
MIN_HEAD, MIN_TAIL = 3, 4
SYNONYMS_KEY = "initiatives:synonyms"
SYNONYMS_SECONDS = 600  # other processes without a shared cache see an edit within this


def words_of(text: str) -> list[str]:
    """The distinct vocabulary words of `text`, lower case, in order."""
    return list(dict.fromkeys(VOCABULARY_WORD.findall(text.lower())))


def query_words(text: str) -> list[str]:
    return list(dict.fromkeys(QUERY_WORD.findall(text.lower())))[:MAX_WORDS]


def synonym_table() -> tuple[str, dict[str, list[str]]]:
    """(version, word -> the other words of its groups): from the cache, else one query. The
    version keys the cached searches, so an edit in the admin makes them stale."""
    cached = cache.get(SYNONYMS_KEY)
    if cached is None:
        table: dict[str, list[str]] = {}
        for group in SearchSynonym.objects.all():
            words = group.word_list
            for word in words:
                others = table.setdefault(word, [])
                others.extend(w for w in words if w != word and w not in others)
        cached = (f"{random.getrandbits(48):x}", table)
        cache.set(SYNONYMS_KEY, cached, SYNONYMS_SECONDS)
    return cached


def synonyms_changed() -> None:
    """Forget the synonym list (and with its version every search cached with it)."""
    cache.delete(SYNONYMS_KEY)


def _forms(part: str) -> set[str]:
    base = part[:-1] if part.endswith("e") else part
    return {part} | {base + ending for ending in ENDINGS}


def compound_parts(word: str, known: set[str]) -> list[str]:
    """The parts of a compound when each is a word in `known` (or an inflected form of one,
    with a linking s or e after the first): matsvinn -> [mat, svinn], klesbytte -> [kles,
    bytte]; [] when it does not split. The shortest first part that works wins, the rest
    is split again (leverandørutviklingsprogrammet)."""
    for cut in range(MIN_HEAD, len(word) - MIN_TAIL + 1):
        tail = word[cut:]
        if _forms(tail) & known and (head := _first_part(word[:cut], known)):
            return [head, *(compound_parts(tail, known) or [tail])]
    return []


def _first_part(head: str, known: set[str]) -> str:
    """`head` as a word of `known`: itself, without a linking letter (barne -> barn), or
    an inflected form of either; "" when none is."""
    stems = [head] + [head[:-1] for link in LINKS if link and head.endswith(link)]
    stems = [stem for stem in stems if len(stem) >= MIN_HEAD]
    for stem in stems:
        if stem in known:
            return stem
    for stem in stems:
        if _forms(stem) & known:
            return stem
    return ""


def _candidate_forms(words) -> set[str]:
    """Every word whose presence in the vocabulary could make one of `words` split."""
    forms = set()
    for word in words:
        for cut in range(MIN_HEAD, len(word) - MIN_TAIL + 1):
            forms |= _forms(word[cut:])
            for link in LINKS:
                if word[:cut].endswith(link):
                    forms |= _forms(word[: cut - len(link)] if link else word[:cut])
    return forms


def vocabulary_among(forms) -> set[str]:
    """Those of `forms` the vocabulary (or the synonym list) knows: one query."""
    _, table = synonym_table()
    forms = set(forms)
    known = {form for form in forms if form in table}
    if forms:
        known.update(SearchWord.objects.filter(word__in=forms).values_list("word", flat=True))
    return known


@dataclass
class Terms:
    """A query's words, each with what may stand for it: synonyms, compound parts, and the
    bank's compounds built on it."""

    words: list[str]
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    parts: dict[str, list[str]] = field(default_factory=dict)
    compounds: dict[str, list[str]] = field(default_factory=dict)

    def alternatives(self, word: str) -> list[str]:
        return [word, *self.synonyms.get(word, []), *self.compounds.get(word, [])]


TERMS_SECONDS = 600
COMPOUNDS_PER_WORD = 20


def terms_for(text: str) -> Terms:
    """The terms of `text`, cached per text and synonym list (they cost up to two queries)."""
    version, table = synonym_table()
    key = f"initiatives:terms:{version}:" + hashlib.sha256(text.encode()).hexdigest()
    terms = cache.get(key)
    if terms is None:
        terms = _terms(text, table)
        cache.set(key, terms, TERMS_SECONDS)
    return terms


def _terms(text: str, table: dict[str, list[str]]) -> Terms:
    words = query_words(text)
    synonyms = {w: table[w] for w in words if w in table}
    bases = {a for w in words for a in [w, *synonyms.get(w, [])] if len(a) >= MIN_HEAD}
    # The vocabulary's compounds containing a word (svinn: matsvinn), PostgreSQL only:
    # a document indexed before its parts were words of the bank still has them this way.
    # (SQLite matches substrings anyway.)
    containing = _vocabulary_containing(bases) if on_postgresql() else []
    long_words = [w for w in words if len(w) >= MIN_HEAD + MIN_TAIL]
    known = vocabulary_among(_candidate_forms([*long_words, *containing]))
    parts = {w: found for w in long_words if (found := compound_parts(w, known))}
    compounds: dict[str, list[str]] = {}
    for candidate in containing:
        for part in compound_parts(candidate, known):
            for word in words:
                if (part in _forms(word) or part in synonyms.get(word, [])) and candidate != word:
                    found = compounds.setdefault(word, [])
                    if len(found) < COMPOUNDS_PER_WORD and candidate not in found:
                        found.append(candidate)
    every = set(words) | {p for found in parts.values() for p in found}
    return Terms(words, {w: table[w] for w in every if w in table}, parts, compounds)


def _vocabulary_containing(bases) -> list[str]:
    if not bases:
        return []
    # LIKE '%word%' through the word table's trigram index.
    q = reduce(or_, (Q(word__contains=base) for base in bases))
    longer = SearchWord.objects.filter(q).exclude(word__in=bases)
    return list(longer.values_list("word", flat=True)[:200])


# --- PostgreSQL queries from the terms ----------------------------------------------


def _plain(word: str) -> SearchQuery:
    return SearchQuery(word, search_type="plain", config=CONFIG)


def _either(words) -> SearchQuery:
    return reduce(or_, (_plain(word) for word in words))


def word_query(terms: Terms, word: str) -> SearchQuery:
    """One query word: itself or a synonym, or all its parts (each itself or a synonym)."""
    query = _either(terms.alternatives(word))
    if parts := terms.parts.get(word):
        query |= reduce(and_, (_either(terms.alternatives(part)) for part in parts))
    return query


def full_query(text: str, terms: Terms | None = None) -> SearchQuery:
    """Every word of `text` (web-search syntax taken as it is written)."""
    if WEB_SEARCH_OPERATORS.search(text):
        return SearchQuery(text, search_type="websearch", config=CONFIG)
    terms = terms or terms_for(text)
    if not terms.words:
        return SearchQuery(text, search_type="websearch", config=CONFIG)
    return reduce(and_, (word_query(terms, word) for word in terms.words))


# --- Searching ------------------------------------------------------------------


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
    query = full_query(text)
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


@dataclass
class Found:
    """What matching_ids gives the facet engine to cache: how the search went, the ids
    best first with their rank, and a corrected text to offer ("Did you mean")."""

    mode: str
    ranked: list[tuple[int, float]]
    suggestion: str = ""


def matching_ids(text: str, catalogue) -> Found:
    """How a search for `text` goes and the published initiatives it finds, best first,
    with their rank: what the facet engine (initiatives.engine.text_hits) caches.

    On PostgreSQL at most CAP ids: with more matches, the newest CAP ranked. With none,
    and no operators, the initiatives matching most of the words (Mode.ANY); with none of
    any word, the matches of the suggested spelling or else titles with close spellings
    in the trigram index's nearest-neighbour order (Mode.FUZZY). `catalogue` is the facet
    engine, which knows the publication order without asking. No query unpacks more than
    CAP stored vectors: matches are read through the GIN index within a window of recent
    publications (a BitmapAnd of the GIN index and the publication-order index) sized by
    the planner's estimate.
    """
    text = " ".join(text.split()[:MAX_WORDS])
    if not text:
        return Found(Mode.EXACT, [])
    if not on_postgresql():
        return _matching_simple(text)
    operators = WEB_SEARCH_OPERATORS.search(text)
    terms = None if operators else terms_for(text)
    found = _matching_all(text, terms, catalogue)
    if found.ranked or operators:
        # Operators ("exact phrase", -without, or) mean the visitor asked for exactly this.
        return found
    if len(terms.words) > 1:
        found, unmatched = _matching_most(terms, catalogue)
        if found.ranked:
            found.suggestion = _verified(suggest(text, unmatched), catalogue)
            return found
    suggestion = _verified(suggest(text, terms.words), catalogue)
    if suggestion:
        return Found(Mode.FUZZY, _matching_all(suggestion, None, catalogue).ranked, suggestion)
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
    return Found(Mode.FUZZY, [(pk, 1 - distance) for pk, distance in nearest])


def _newest_matches(query: SearchQuery, catalogue) -> list[int]:
    """The published initiatives matching `query`, newest first: all of them, or enough to
    hold the newest CAP (more than CAP means capped)."""
    published = Initiative.objects.filter(status=Initiative.Status.PUBLISHED)
    matches = published.filter(search_vector=query).order_by().values_list("pk", flat=True)
    # Look among as many of the newest as should hold CAP matches, by the planner's estimate
    # of how many match in all (its statistics of the vectors' words), and more if not.
    published_count = catalogue.published_count()
    window = 2 * CAP * published_count // max(_estimated_rows(matches), 1)
    while True:
        since = catalogue.published_since(window)
        found = list(matches.filter(published_at__gte=since) if since else matches)
        if since is None or len(found) > CAP:
            return catalogue.newest_first(found)
        window *= 4


def _matching_all(text: str, terms: Terms | None, catalogue) -> Found:
    query = full_query(text, terms)
    newest = _newest_matches(query, catalogue)
    if not newest:
        return Found(Mode.EXACT, [])
    ranked = (
        Initiative.objects.filter(pk__in=newest[:CAP])
        .annotate(rank=SearchRank(F("search_vector"), query, cover_density=False))
        .order_by("-rank", "-published_at", "-pk")
    )
    return Found(Mode.CAPPED if len(newest) > CAP else Mode.EXACT, list(ranked.values_list("pk", "rank")))  # fmt: skip


def _matching_most(terms: Terms, catalogue) -> tuple[Found, list[str]]:
    """The initiatives matching any word, those matching most words first (then by rank),
    and the words that matched none of them."""
    queries = {word: word_query(terms, word) for word in terms.words}
    query = reduce(or_, queries.values())
    newest = _newest_matches(query, catalogue)
    if not newest:
        return Found(Mode.ANY, []), terms.words
    flags = {
        f"has_{index}": Case(When(search_vector=q, then=1), default=0, output_field=IntegerField())
        for index, q in enumerate(queries.values())
    }
    rows = (
        Initiative.objects.filter(pk__in=newest[:CAP])
        .annotate(rank=SearchRank(F("search_vector"), query, cover_density=False), **flags)
        .values_list("pk", "rank", *flags)
    )
    ranked, matched = [], [0] * len(queries)
    for pk, rank, *has in rows:
        matched = [seen + flag for seen, flag in zip(matched, has, strict=True)]
        # Whole words matched count first; the rank (below 1) orders within each count.
        ranked.append((pk, sum(has) + rank / (1 + rank)))
    age = {pk: index for index, pk in enumerate(newest)}
    ranked.sort(key=lambda item: (-item[1], age[item[0]]))
    unmatched = [word for word, seen in zip(queries, matched, strict=True) if not seen]
    return Found(Mode.ANY, ranked), unmatched


def suggest(text: str, words) -> str:
    """`text` with each of `words` the vocabulary does not know replaced by the nearest word
    it does ("barnhage" -> "barnehage"); "" when nothing changes."""
    words = [word for word in words if len(word) >= 4 and not word.isdigit()]
    if not words:
        return ""
    known = set(SearchWord.objects.filter(word__in=words).values_list("word", flat=True))
    corrections = {}
    for word in words:
        if word not in known and (nearest := _nearest_word(word)):
            corrections[word] = nearest
    if not corrections:
        return ""
    return " ".join(corrections.get(word, word) for word in query_words(text))


def _nearest_word(word: str) -> str:
    """The vocabulary's nearest spelling of `word`, if it is a likely slip of the keys: one
    letter wrong, missing, extra or swapped (two in words of ten letters or more)."""
    if on_postgresql():
        # pg_trgm's % (similarity above 0.3) through the word index, nearest first.
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT word FROM {SearchWord._meta.db_table} WHERE word %% %s
                    ORDER BY similarity(word, %s) DESC, word LIMIT 10""",
                [word, word],
            )
            candidates = [row[0] for row in cursor.fetchall()]
    else:
        # SQLite (development, tests): the vocabulary is small enough to compare in Python.
        vocabulary = list(SearchWord.objects.values_list("word", flat=True))
        candidates = difflib.get_close_matches(word, vocabulary, n=10, cutoff=0.6)
    allowed = 2 if len(word) >= 10 else 1
    near = [c for c in candidates if edit_distance(word, c) <= allowed]
    return min(near, key=lambda c: edit_distance(word, c)) if near else ""


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of
    two neighbouring letters each count one."""
    previous2, previous = [], list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def _verified(suggestion: str, catalogue) -> str:
    """A suggestion worth a click: one whose every word finds something published."""
    if not suggestion:
        return ""
    if on_postgresql():
        return suggestion if _matching_all(suggestion, None, catalogue).ranked else ""
    return (
        suggestion if _simple_matches(Initiative.objects.published(), suggestion).exists() else ""
    )


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
        return [(pk, 1.0) for pk in _simple_matches(published, text).values_list("pk", flat=True)]  # fmt: skip
    query = full_query(text)
    found = published.filter(search_vector=query).annotate(
        rank=SearchRank(F("search_vector"), query, cover_density=False)
    )
    return list(found.values_list("pk", "rank"))


def _word_q(terms: Terms, word: str) -> Q:
    """SQLite: one word (or a synonym) somewhere in the text, or all its parts; substrings
    find the compounds a word is part of."""
    q = _either_q(terms.alternatives(word))
    if parts := terms.parts.get(word):
        q |= reduce(and_, (_either_q(terms.alternatives(part)) for part in parts))
    return q


def _either_q(words) -> Q:
    notes = Adoption.objects.filter(initiative=OuterRef("pk"))
    return reduce(
        or_,
        (
            Q(title__icontains=word)
            | Q(summary__icontains=word)
            | Q(description__icontains=word)
            | Exists(notes.filter(note__icontains=word))
            for word in words
        ),
    )


def _simple_terms(text: str) -> Terms:
    return terms_for(" ".join(word.strip("\"'()+-") for word in text.split()))


def _simple_matches(queryset: QuerySet, text: str) -> QuerySet:
    terms = _simple_terms(text)
    for word in terms.words:
        queryset = queryset.filter(_word_q(terms, word))
    return queryset


def _search_simple(queryset: QuerySet, text: str) -> SearchResult:
    return SearchResult(
        _simple_matches(queryset, text).annotate(rank=Value(1.0, output_field=FloatField()))
    )


def _matching_simple(text: str) -> Found:
    """SQLite: every word, else most of the words, else the suggestion's matches."""
    published = Initiative.objects.filter(status=Initiative.Status.PUBLISHED)
    newest = ("-published_at", "-pk")
    found = _simple_matches(published, text).order_by(*newest).values_list("pk", flat=True)
    if found:
        return Found(Mode.EXACT, [(pk, 1.0) for pk in found])
    terms = _simple_terms(text)
    if len(terms.words) > 1:
        flags = {
            f"has_{index}": Case(
                When(_word_q(terms, word), then=1), default=0, output_field=IntegerField()
            )  # fmt: skip
            for index, word in enumerate(terms.words)
        }
        rows = list(
            published.filter(reduce(or_, (_word_q(terms, word) for word in terms.words)))
            .annotate(**flags)
            .order_by(*newest)
            .values_list("pk", *flags)
        )
        if rows:
            ranked = sorted(((pk, float(sum(has))) for pk, *has in rows), key=lambda r: -r[1])
            unmatched = [w for i, w in enumerate(terms.words) if not any(r[1 + i] for r in rows)]
            return Found(Mode.ANY, ranked, _verified(suggest(text, unmatched), None))
    suggestion = _verified(suggest(text, terms.words), None)
    if suggestion:
        found = _simple_matches(published, suggestion).order_by(*newest).values_list("pk", flat=True)  # fmt: skip
        return Found(Mode.FUZZY, [(pk, 1.0) for pk in found], suggestion)
    return Found(Mode.EXACT, [])


def title_similarity(title: str):
    """How alike a title is to `title`, 0 to 1: trigram similarity on PostgreSQL, 0 elsewhere."""
    if on_postgresql():
        return TrigramSimilarity("title", title)
    return Value(0.0, output_field=FloatField())


TEXT_FIELDS = (
    "title",
    "summary",
    "description",
    "frame_goals",
    "frame_roles",
    "frame_financing",
    "frame_expected_results",
    "frame_indicators",
    "frame_effect_shown",
    "results",
    "lessons",
    "transfer_value",
)
REFRESH_CHUNK = 1000


def refresh_vectors(queryset: QuerySet) -> None:
    """Recompute the stored vectors of `queryset`'s initiatives (and add their words to the
    vocabulary), a chunk of initiatives per UPDATE.

    Their compound words' parts join the document (weight D), split against the
    vocabulary, so "svinn" finds "matsvinn"; so do their adoption notes."""
    rows = queryset.order_by().values_list("pk", *TEXT_FIELDS).iterator(chunk_size=REFRESH_CHUNK)
    while chunk := list(islice(rows, REFRESH_CHUNK)):
        _refresh_chunk({pk: [text for text in fields if text] for pk, *fields in chunk})


def _refresh_chunk(texts: dict[int, list[str]]) -> None:
    pks = list(texts)
    for pk, note in Adoption.objects.filter(initiative__in=pks).exclude(note="").values_list("initiative", "note"):  # fmt: skip
        texts[pk].append(note)
    words = {pk: words_of(" ".join(parts)) for pk, parts in texts.items()}
    SearchWord.objects.bulk_create(
        (SearchWord(word=w) for w in sorted({w for found in words.values() for w in found})),
        batch_size=1000,
        ignore_conflicts=True,
    )
    if not on_postgresql():
        return
    # The whole vocabulary in one query: asking for each word's candidate parts would
    # send hundreds of thousands of them for a chunk.
    known = set(SearchWord.objects.values_list("word", flat=True)) | set(synonym_table()[1])
    parts = {
        str(pk): " ".join(p for w in found for p in compound_parts(w, known))
        for pk, found in words.items()
    }
    ids_sql, ids_params = "SELECT unnest(%s::bigint[])", [pks]
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
                    i.transfer_value, related.places, related.notes,
                    %s::jsonb ->> i.id::text)), 'D')
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
                ) AS places,
                (SELECT string_agg(a.note, ' ') FROM initiatives_adoption a
                  WHERE a.initiative_id = x.id) AS notes
            FROM initiatives_initiative x
            WHERE x.id IN ({ids_sql})
        ) AS related
        WHERE related.id = i.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [content_type.pk, json.dumps(parts), content_type.pk, *ids_params])


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
