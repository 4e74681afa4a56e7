"""Similar published initiatives for one being written (initiatives.search.similar_to)."""

import pytest
from django.db import connection

from initiatives.models import Initiative
from initiatives.search import similar_to, similar_words
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db

Status = Initiative.Status


def publish(**fields) -> Initiative:
    initiative = make_initiative(status=Status.PUBLISHED, **fields)
    Initiative.objects.filter(pk=initiative.pk).refresh_search_vectors()
    return initiative


def titles(initiatives) -> list[str]:
    return [initiative.title for initiative in initiatives]


def test_similar_words_drop_short_words_numbers_and_repeats():
    assert similar_words("Matsvinn i barnehagen 2025", "Matsvinn og mat") == [
        "matsvinn",
        "barnehagen",
        "mat",
    ]


@pytest.mark.parametrize("title", ["", "   ", "i og å", "2025", "!!!"])
def test_similar_to_nothing_to_match_gives_nothing(title):
    publish(title="Matsvinn i barnehagen")

    assert similar_to(title) == []


def test_similar_to_only_published(submitter):
    published = publish(title="Sykkelbibliotek i Asker")
    for status in (Status.DRAFT, Status.SUBMITTED, Status.REJECTED, Status.ARCHIVED):
        make_initiative(status=status, title=f"Sykkelbibliotek {status}")

    assert similar_to("Sykkelbibliotek") == [published]


def test_similar_to_excludes_the_initiative_itself():
    itself = publish(title="Ombruk av møbler")
    other = publish(title="Ombruk av klær")

    assert similar_to("Ombruk av møbler", exclude_pk=itself.pk) == [other]


def test_similar_to_any_word_is_enough_and_at_most_five():
    for n in range(7):
        publish(title=f"Solceller på skole {n}")
    publish(title="Matsvinn i barnehagen")

    result = similar_to("Solceller og matsvinn")

    assert len(result) == 5
    assert "Matsvinn i barnehagen" in titles(similar_to("Solceller og matsvinn", limit=10))


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite fallback")
def test_similar_to_sqlite_ranks_by_title_words_matched():
    one = publish(title="Ombruk av møbler")
    both = publish(title="Ombruk av kontormøbler i kommunen", summary="Kommunen ombruker.")
    publish(title="Noe helt annet", description="ombruk i beskrivelsen teller ikke")

    assert similar_to("Ombruk i kommunen") == [both, one]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="full-text search is PostgreSQL's")
class TestPostgresqlSimilar:
    def test_inflected_words_match(self):
        kindergartens = publish(title="Matsvinn i barnehager")

        assert similar_to("Barnehagene veier maten") == [kindergartens]

    def test_one_shared_word_suffices_and_more_shared_words_rank_higher(self):
        one = publish(title="Ombruk av møbler", summary="Stoler og bord.")
        two = publish(title="Ombruk av møbler i skolen", summary="Skolene ombruker møbler.")

        assert similar_to("Møbler til skolen") == [two, one]

    def test_summary_words_count_too(self):
        bikes = publish(title="Sykkelbibliotek", summary="Lån en lastesykkel gratis.")

        assert similar_to("Gratis utlån", "lastesykkel til familier") == [bikes]

    def test_drafts_never_appear(self):
        make_initiative(status=Status.DRAFT, title="Hemmelig utkast om solceller")
        Initiative.objects.refresh_search_vectors()

        assert similar_to("Solceller") == []
