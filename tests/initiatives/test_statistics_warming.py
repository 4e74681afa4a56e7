"""The statistics are counted on the task worker after every catalogue change
(initiatives.statistics.queue_warming / warm), so no visitor waits for the count."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from initiatives import engine, statistics, tasks
from initiatives.models import Initiative
from tests.factories import make_adoption, make_initiative, make_moderator
from tests.worker import run_worker, use_database_queue

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


class FakeTask:
    """Stands in for the task (django_tasks' Task is frozen) to watch or fail enqueue."""

    def __init__(self, enqueue):
        self.enqueue = enqueue


def cached_figures(language: str):
    with translation.override(language):
        key, _latest = statistics._keys(engine.engine().version)
    return cache.get(key)


def test_a_publication_warms_the_figures_in_every_language(django_capture_on_commit_callbacks):
    initiative = make_initiative(status=Initiative.Status.SUBMITTED)
    moderator = make_moderator()

    with django_capture_on_commit_callbacks(execute=True):
        initiative.publish(by=moderator)

    for language in ("nb", "en"):
        assert cached_figures(language).published == 1
    # Each counted in its own language.
    assert cached_figures("en").charts[0].title != cached_figures("nb").charts[0].title


def test_the_first_visit_after_a_change_reads_the_warmed_figures(
    client, django_capture_on_commit_callbacks
):
    make_initiative(status=Initiative.Status.PUBLISHED)
    client.get("/en/statistikk/")

    with django_capture_on_commit_callbacks(execute=True):
        make_adoption()
    with CaptureQueriesContext(connection) as visit:
        response = client.get("/en/statistikk/")

    assert response.status_code == 200
    assert len(visit) == 1  # the change log; the figures come from the cache


def test_a_burst_of_changes_queues_one_warming(monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(tasks, "warm_statistics", FakeTask(lambda: queued.append(1)))

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            make_initiative(status=Initiative.Status.PUBLISHED)

    assert len(queued) == 1
    # The task clears the mark as it starts: the next change queues again.
    statistics.warm()
    with django_capture_on_commit_callbacks(execute=True):
        make_initiative(status=Initiative.Status.PUBLISHED)
    assert len(queued) == 2


def test_a_queue_that_is_down_does_not_fail_the_change(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    def down():
        raise ConnectionError("queue away")

    monkeypatch.setattr(tasks, "warm_statistics", FakeTask(down))
    initiative = make_initiative(status=Initiative.Status.SUBMITTED)

    with django_capture_on_commit_callbacks(execute=True):
        initiative.publish(by=make_moderator())

    assert Initiative.objects.get(pk=initiative.pk).is_published
    assert cache.get(statistics.WARMING_QUEUED_KEY) is None  # the next change tries again
    # The first visitor counts, as before.
    assert client.get("/en/statistikk/").context["figures"].published == 1


def test_warming_reads_changes_made_by_another_process():
    make_initiative(status=Initiative.Status.PUBLISHED)
    current = engine.engine()
    current.poll_seconds = 3600  # as a worker whose engine looked a moment ago
    # Another process publishes: the log moves, this process's engine is not told.
    with engine.unlogged():
        other = make_initiative(status=Initiative.Status.PUBLISHED)
    engine.initiatives_changed([other.pk])
    current.dirty = False

    version = statistics.warm()

    assert version == current.version
    assert cached_figures("nb").published == 2


def test_the_worker_warms_from_the_database_queue(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    use_database_queue(settings, monkeypatch)
    initiative = make_initiative(status=Initiative.Status.SUBMITTED)

    with django_capture_on_commit_callbacks(execute=True):
        initiative.publish(by=make_moderator())

    queued = DBTaskResult.objects.filter(task_path="initiatives.tasks.warm_statistics")
    assert queued.count() == 1
    assert cached_figures("nb") is None  # queued, not counted in the request

    run_worker()

    assert cached_figures("nb").published == 1
    assert cached_figures("en").published == 1


def test_while_the_worker_counts_visitors_see_the_figures_before(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    make_initiative(status=Initiative.Status.PUBLISHED)
    assert client.get("/en/statistikk/").context["figures"].published == 1
    monkeypatch.setattr(tasks, "warm_statistics", FakeTask(lambda: None))  # queued, not run

    with django_capture_on_commit_callbacks(execute=True):
        make_initiative(status=Initiative.Status.PUBLISHED)
    with CaptureQueriesContext(connection) as visit:
        meanwhile = client.get("/en/statistikk/").context["figures"]
    statistics.warm()  # the worker's turn
    after = client.get("/en/statistikk/").context["figures"]

    assert (meanwhile.published, after.published) == (1, 2)
    assert len(visit) <= 1  # at most the change log: nothing counted in the request


def test_with_no_warming_on_its_way_the_visitor_counts(client):
    make_initiative(status=Initiative.Status.PUBLISHED)
    client.get("/en/statistikk/")
    # A change whose warming was never queued (or whose mark expired: a lost task).
    make_initiative(status=Initiative.Status.PUBLISHED)

    assert client.get("/en/statistikk/").context["figures"].published == 2


def test_figures_the_worker_counted_ahead_of_this_process_are_shown(client):
    make_initiative(status=Initiative.Status.PUBLISHED)
    lagging = engine.engine()  # this process's engine, which read the log a moment ago
    lagging.poll_seconds = 3600
    # Another process publishes; the worker, with its own engine, counts the new version.
    engine.reset()
    make_initiative(status=Initiative.Status.PUBLISHED)
    counted = statistics.warm()
    engine._engine, lagging.dirty = lagging, False

    with CaptureQueriesContext(connection) as visit:
        figures = client.get("/en/statistikk/").context["figures"]

    assert lagging.version < counted
    assert figures.published == 2  # the newer figures, not a count of the older version
    assert len(visit) <= 1
