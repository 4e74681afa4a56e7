import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db.models import Count
from taggit.models import TaggedItem

from initiatives.management.commands.benchmark import percentile, summarise
from initiatives.models import Adoption, Initiative, Organisation

pytestmark = pytest.mark.django_db


def generate(count: int = 30, **options) -> None:
    call_command("generate_initiatives", count=count, seed=options.pop("seed", 7), verbosity=0, **options)  # fmt: skip


def synthetic():
    return Initiative.objects.filter(slug__startswith="syn-")


def test_generate_initiatives_makes_valid_published_initiatives():
    generate(30)

    initiatives = list(
        synthetic().annotate(
            goal_total=Count("goals", distinct=True),
            purpose_total=Count("purposes", distinct=True),
            actor_type_total=Count("actor_types", distinct=True),
        )
    )
    for initiative in initiatives:
        # Derived columns kept by refresh_search_vectors(), not data the generator chooses.
        initiative.full_clean(exclude=["search_vector", "facet_keys"])
    assert len(initiatives) == 30
    assert {i.status for i in initiatives} == {Initiative.Status.PUBLISHED}
    assert all(i.published_at is not None and i.created < i.published_at for i in initiatives)
    assert min(i.goal_total for i in initiatives) >= 1
    assert min(i.purpose_total for i in initiatives) >= 1
    assert min(i.actor_type_total for i in initiatives) >= 1
    assert Initiative.objects.published().filter(slug__startswith="syn-").count() == 30


def test_generate_initiatives_same_seed_gives_same_titles():
    generate(30, seed=11)
    first = list(synthetic().order_by("slug").values_list("slug", "title"))

    generate(30, seed=11, replace=True)

    assert list(synthetic().order_by("slug").values_list("slug", "title")) == first
    assert synthetic().count() == 30


def test_generate_initiatives_rerun_adds_rows_with_new_slugs():
    generate(10)
    first = set(synthetic().values_list("slug", flat=True))

    generate(10)

    slugs = set(synthetic().values_list("slug", flat=True))
    assert len(slugs) == 20
    assert first < slugs


def test_generate_initiatives_targets_belong_to_chosen_goals():
    generate(30)

    targets = set(
        Initiative.targets.through.objects.filter(initiative__in=synthetic()).values_list(
            "initiative_id", "target__goal_id"
        )
    )
    goals = set(
        Initiative.goals.through.objects.filter(initiative__in=synthetic()).values_list(
            "initiative_id", "goal_id"
        )
    )
    assert targets != set()
    assert targets <= goals


def test_generate_initiatives_tags_are_read_through_taggit():
    generate(30)

    items = TaggedItem.objects.filter(
        content_type=ContentType.objects.get_for_model(Initiative),
        object_id__in=synthetic().values("pk"),
    )
    through_manager = sum(len(i.tags.all()) for i in synthetic().prefetch_related("tags"))

    assert through_manager == items.count()
    assert through_manager > 0


def test_generate_initiatives_adoptions_come_from_other_organisations():
    generate(60)

    adoptions = list(
        Adoption.objects.filter(initiative__in=synthetic()).select_related("initiative")
    )

    assert adoptions != []
    assert all(a.organisation_id != a.initiative.lead_organisation_id for a in adoptions)
    assert Organisation.objects.filter(slug__startswith="syn-org-").count() == 12


def test_generate_initiatives_replace_removes_earlier_synthetic_rows():
    generate(20, seed=1)

    generate(5, seed=2, replace=True)

    assert synthetic().count() == 5


@pytest.mark.parametrize(
    ("samples", "best", "median", "p95"),
    [
        ([float(n) for n in range(100, 0, -1)], 1.0, 50.5, 95.0),
        ([5.0, 1.0, 3.0], 1.0, 3.0, 5.0),
        ([10.0] * 19 + [100.0], 10.0, 10.0, 10.0),
        ([10.0] * 18 + [100.0, 200.0], 10.0, 10.0, 100.0),
        ([7.0], 7.0, 7.0, 7.0),
    ],
)
def test_benchmark_summary_best_median_and_p95(samples, best, median, p95):
    summary = summarise(samples)

    assert (summary.best, summary.median, summary.p95) == (best, median, p95)


def test_benchmark_percentile_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 0.95)


def test_benchmark_measures_every_page_against_its_target():
    generate(30)
    rare = synthetic().order_by("pk").first().title.split()[0]
    out = io.StringIO()

    call_command("benchmark", runs=2, warmup=0, rare_word=rare, stdout=out, stderr=io.StringIO())

    rows = {line.split("  ")[0]: line for line in out.getvalue().splitlines()}
    for page in ("floor (base.html)", "list", "list, 3 facets", "search 'barnehage'", f"search '{rare}'", "detail"):  # fmt: skip
        assert page in rows
    assert rows["detail"].endswith(("PASS", "FAIL"))
    assert "Peak memory (ru_maxrss)" in out.getvalue()


def test_generate_tells_the_facet_engine_once_not_per_row():
    from initiatives.models import CatalogueChange

    generate(10)
    last = CatalogueChange.objects.order_by("-id").values_list("id", flat=True).first() or 0

    generate(10, replace=True)

    # One "everything changed" for the deletion and one for the new rows.
    new = CatalogueChange.objects.filter(id__gt=last)
    assert list(new.values_list("initiative_id", flat=True)) == [None, None]
