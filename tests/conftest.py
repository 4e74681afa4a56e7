import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import translation

from initiatives import engine
from tests.factories import make_moderator, make_organisation, make_user


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Every test database starts with the real reference data, loaded once."""
    with django_db_blocker.unblock():
        call_command("load_reference_data", verbosity=0)


@pytest.fixture(autouse=True)
def _fresh_facet_engine(settings):
    # The engine lives in the process; each test starts from its own database. It reads the
    # change log on every request, so a test sees at once what it just wrote.
    settings.ENGINE_POLL_SECONDS = 0
    engine.reset()
    yield
    engine.reset()


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    # Queued tasks (e-mail) run when enqueued, after the commit, so mail lands in
    # `mailoutbox` as the on-commit callbacks run. tests/ideabank/test_mail_delivery.py runs
    # the real database queue and worker.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Hashed static names need collectstatic; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def moderator():
    return make_moderator(username="moderator")


@pytest.fixture
def superuser(admin_user):
    return admin_user


@pytest.fixture
def submitter():
    return make_user(username="submitter", email="submitter@example.org")


@pytest.fixture
def organisation():
    return make_organisation(name="Asker kommune", slug="asker-kommune")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher is slow on purpose; tests make many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english_outside_requests():
    # Assertions on messages read the English source strings; requests still pick
    # their language from the URL (Bokmål without prefix, English under /en/).
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _empty_cache():
    # Facet counts are cached; each test starts without them.
    cache.clear()
    yield
    cache.clear()
