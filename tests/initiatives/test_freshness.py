"""Freshness: the stale rule and its marker, the reminders the worker sends at 12 and 18
months, and the one-click "still current" link they carry."""

import time
from datetime import date, datetime, timedelta

import pytest
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ideabank.models import OutgoingMail, PeriodicJob, Profile
from ideabank.tasks import enqueue_due_periodic_tasks
from initiatives import engine, freshness
from initiatives.models import (
    CatalogueChange,
    FreshnessReminder,
    Initiative,
    freshness_cutoff,
    months_before,
)
from tests.factories import (
    confirmed,
    make_initiative,
    make_moderator,
    make_org_member,
    make_organisation,
    make_user,
)
from tests.worker import run_worker, use_database_queue

pytestmark = pytest.mark.django_db

Status = Initiative.Status
OSLO = timezone.get_default_timezone()
# A reminder with one mail: a savepoint, its row, the outbox row and the release.
PER_REMINDER = 4


def months_ago(months: int, days: int = 0) -> datetime:
    """Noon (Oslo) on the day `months` calendar months and `days` days before today."""
    day = months_before(timezone.localdate(), months) - timedelta(days=days)
    return datetime(day.year, day.month, day.day, 12, tzinfo=OSLO)


def published(updated: datetime | None = None, **fields) -> Initiative:
    initiative = make_initiative(status=Status.PUBLISHED, **fields)
    if updated is not None:
        initiative.note_owner_update(updated)
    return initiative


def owner(organisation, language: str = "nb", email: str = ""):
    user = make_user(**({"email": email} if email else {}))
    Profile.objects.update_or_create(user=user, defaults={"language": language})
    make_org_member(organisation=organisation, user=confirmed(user))
    return user


# --- The rule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 8, 31), 6, date(2026, 2, 28)),
        (date(2028, 8, 31), 6, date(2028, 2, 29)),
        (date(2026, 1, 15), 1, date(2025, 12, 15)),
        (date(2026, 12, 6), 18, date(2025, 6, 6)),
        (date(2026, 3, 31), 12, date(2025, 3, 31)),
        (date(2026, 5, 1), 0, date(2026, 5, 1)),
    ],
)
def test_months_before_counts_calendar_months(day, months, expected):
    assert months_before(day, months) == expected


def test_freshness_cutoff_is_the_start_of_the_day_in_oslo():
    # 23:30 UTC on 31 March 2026 is already 1 April in Oslo (summer time, UTC+2).
    now = datetime.fromisoformat("2026-03-31T23:30:00+00:00")

    cutoff = freshness_cutoff(18, now)

    assert cutoff == datetime(2024, 10, 1, 0, 0, tzinfo=OSLO)
    assert cutoff.utcoffset() == timedelta(hours=2)


def test_stale_is_more_than_eighteen_months_without_an_update(settings):
    settings.FRESHNESS_STALE_MONTHS = 18
    cutoff = freshness_cutoff(18)
    just_stale = published(cutoff - timedelta(microseconds=1))
    just_fresh = published(cutoff)
    recent = published(months_ago(2))
    never_recorded = make_initiative(status=Status.PUBLISHED)  # counts from publication

    stale = set(Initiative.objects.stale())

    assert stale == {just_stale}
    assert [i.is_stale for i in (just_stale, just_fresh, recent, never_recorded)] == [
        True,
        False,
        False,
        False,
    ]


def test_the_setting_moves_the_rule(settings):
    initiative = published(months_ago(7))
    settings.FRESHNESS_STALE_MONTHS = 6

    assert initiative.is_stale
    assert list(Initiative.objects.stale()) == [initiative]


# --- The marker ----------------------------------------------------------------------


def test_a_stale_initiative_is_marked_on_its_page_and_in_lists(client):
    last = months_ago(20)
    stale = published(last, title="Gammelt tiltak")
    fresh = published(months_ago(1), title="Ferskt tiltak")
    when = last.astimezone(OSLO).date().isoformat()
    marker = f'Not updated since <time datetime="{when}">'

    pages = {
        "detail": client.get(f"/en/tiltak/{stale.slug}/").content.decode(),
        "fresh": client.get(f"/en/tiltak/{fresh.slug}/").content.decode(),
        "list": client.get("/en/tiltak/").content.decode(),
        "organisation": client.get(
            f"/en/organisasjoner/{stale.lead_organisation.slug}/"
        ).content.decode(),
        "home": client.get("/en/").content.decode(),
    }

    assert pages["detail"].count(marker) == 1
    assert "Not updated since" not in pages["fresh"]
    assert pages["list"].count("Not updated since") == 1
    assert pages["list"].count(marker) == 1
    assert pages["organisation"].count(marker) == 1
    assert pages["home"].count(marker) == 1


def list_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/tiltak/", "/en/tiltak/?phase=idea", "/"])
def test_the_marker_costs_no_query(client, url):
    for _ in range(3):
        published(months_ago(1), phase="idea")
    engine.engine()
    list_queries(client, url)  # the filter panel and reference lists are cached from here
    fresh = list_queries(client, url)
    for initiative in Initiative.objects.all():
        initiative.note_owner_update(months_ago(20))
    list_queries(client, url)

    assert client.get(url).content.decode().count('class="ds-paragraph stale-marker"') == 3
    assert list_queries(client, url) == fresh


# --- Reminders, on the worker ------------------------------------------------------------


@pytest.fixture
def worker(settings, monkeypatch):
    """The real database queue, and a function that lets the periodic jobs fall due and
    runs the worker until nothing is left (mail lands in `mailoutbox`)."""
    use_database_queue(settings, monkeypatch)
    settings.SITE_URL = "https://idebanken.example"

    def run() -> list[str]:
        PeriodicJob.objects.update(next_run_at="2000-01-01T00:00Z")
        enqueued = enqueue_due_periodic_tasks()
        run_worker()
        return enqueued

    return run


def reminders_to(mailoutbox, address: str) -> list:
    # By the one-click link, which every reminder carries in either language.
    return [m for m in mailoutbox if m.to == [address] and "/tiltak/fortsatt-aktuelt/" in m.body]


def test_the_reminders_are_a_daily_periodic_task(settings):
    assert settings.PERIODIC_TASKS["initiatives.tasks.send_freshness_reminders"] == 24 * 3600


def test_reminders_go_once_per_threshold_however_often_the_worker_runs(worker, mailoutbox):
    organisation = make_organisation(name="Asker kommune")
    anne = owner(organisation, "en", "anne@asker.no")
    last = months_ago(12, days=3)
    initiative = published(last, lead_organisation=organisation)

    assert "initiatives.tasks.send_freshness_reminders" in worker()
    worker()

    (mail,) = reminders_to(mailoutbox, anne.email)
    reminder = FreshnessReminder.objects.get()
    assert (reminder.initiative, reminder.months, reminder.due_for) == (initiative, 12, last)
    body = mail.body
    assert initiative.title in mail.subject
    assert "more than 12 months ago" in body
    assert "https://idebanken.example/en/tiltak/fortsatt-aktuelt/" in body
    assert f"https://idebanken.example/en/tiltak/{initiative.slug}/rapporter/ny/" in body
    assert f"https://idebanken.example/en/tiltak/{initiative.slug}/rediger/" in body


def test_twelve_months_then_eighteen_then_nothing_more(worker, mailoutbox, monkeypatch):
    organisation = make_organisation()
    kari = owner(organisation)
    published(months_ago(12, days=5), lead_organisation=organisation)
    worker()
    worker()
    assert len(reminders_to(mailoutbox, kari.email)) == 1
    # Half a year on, with no update in between: the second reminder, once.
    later = timezone.now() + timedelta(days=190)
    monkeypatch.setattr(timezone, "now", lambda: later)

    worker()
    worker()

    assert sorted(FreshnessReminder.objects.values_list("months", flat=True)) == [12, 18]
    assert len(reminders_to(mailoutbox, kari.email)) == 2


def test_both_thresholds_passed_at_once_sends_only_the_eighteen_month_one(worker, mailoutbox):
    organisation = make_organisation()
    kari = owner(organisation)
    published(months_ago(20), lead_organisation=organisation)

    worker()
    worker()

    assert list(FreshnessReminder.objects.values_list("months", flat=True)) == [18]
    assert len(reminders_to(mailoutbox, kari.email)) == 1


def test_an_update_starts_a_new_round(worker, mailoutbox):
    organisation = make_organisation()
    kari = owner(organisation)
    initiative = published(months_ago(13), lead_organisation=organisation)
    worker()

    initiative.note_owner_update(months_ago(12, days=2))  # an edit, a year ago
    worker()
    worker()

    assert FreshnessReminder.objects.filter(months=12).count() == 2
    assert len(reminders_to(mailoutbox, kari.email)) == 2


@pytest.mark.parametrize("status", [Status.DRAFT, Status.SUBMITTED, Status.REJECTED, Status.ARCHIVED])  # fmt: skip
def test_only_published_initiatives_are_reminded(worker, mailoutbox, status):
    organisation = make_organisation()
    kari = owner(organisation)
    initiative = make_initiative(status=status, lead_organisation=organisation)
    Initiative.objects.filter(pk=initiative.pk).update(
        owner_updated_at=months_ago(20), published_at=months_ago(20)
    )

    worker()

    assert not FreshnessReminder.objects.exists()
    assert reminders_to(mailoutbox, kari.email) == []


def test_a_fresh_initiative_is_not_reminded(worker, mailoutbox):
    organisation = make_organisation()
    kari = owner(organisation)
    published(months_ago(11, days=27), lead_organisation=organisation)

    worker()

    assert not FreshnessReminder.objects.exists()
    assert reminders_to(mailoutbox, kari.email) == []


def test_each_owner_is_mailed_in_their_own_language(worker, mailoutbox):
    organisation = make_organisation()
    anne = owner(organisation, "en")
    per = owner(organisation, "nb")
    unconfirmed = make_user()
    make_org_member(organisation=organisation, user=unconfirmed)
    requested = confirmed(make_user())
    make_org_member(organisation=organisation, user=requested, status="requested")
    initiative = published(months_ago(19), lead_organisation=organisation)

    worker()
    worker()  # the mails wait for a commit the test never makes: the periodic retry sends

    mails = OutgoingMail.objects.filter(template="email/freshness_reminder")
    assert sorted(mails.values_list("to", "language")) == sorted([(anne.email, "en"), (per.email, "nb")])  # fmt: skip
    english = mails.get(to=anne.email).body
    norwegian = mails.get(to=per.email).body
    assert f"https://idebanken.example/en/tiltak/{initiative.slug}/rapporter/ny/" in english
    assert f"https://idebanken.example/tiltak/{initiative.slug}/rapporter/ny/" in norwegian
    assert "/en/" not in norwegian
    assert {m.to[0] for m in mailoutbox} == {anne.email, per.email}


def test_without_owners_to_ask_the_moderators_get_one_mail_for_all(worker, mailoutbox, settings):
    moderator = confirmed(make_moderator(email="moderator@example.org"))
    orphans = [published(months_ago(19), title=f"Foreldreløst {n}") for n in range(3)]
    organisation = make_organisation()
    kari = owner(organisation)
    published(months_ago(19), lead_organisation=organisation)

    worker()
    worker()

    (digest,) = [m for m in mailoutbox if m.to == [moderator.email]]
    # In the moderator's language (Bokmål, the default).
    assert digest.subject == f"{settings.SITE_NAME}: 3 tiltak er ikke oppdatert og har ingen å spørre"  # fmt: skip
    for orphan in orphans:
        assert orphan.title in digest.body
    assert digest.body.count("/tiltak/fortsatt-aktuelt/") == 3
    assert len(reminders_to(mailoutbox, kari.email)) == 1
    assert FreshnessReminder.objects.count() == 4


def test_the_task_queries_a_constant_per_mail():
    def queries_for(initiatives: int) -> int:
        while Initiative.objects.count() < initiatives:
            organisation = make_organisation()
            owner(organisation)
            published(months_ago(19), lead_organisation=organisation)
        FreshnessReminder.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            sent = freshness.send_reminders()
        assert sent == {"owners": initiatives, "moderators": 0}
        return len(queries)

    counts = [queries_for(n) for n in (1, 3, 5)]

    # Two to find what is due and its owners; per initiative a savepoint, its row and its
    # savepoint's release, and one outbox row per mail (here one owner each).
    assert counts == [2 + PER_REMINDER, 2 + 3 * PER_REMINDER, 2 + 5 * PER_REMINDER]


def test_a_second_worker_at_once_sends_nothing_more():
    organisation = make_organisation()
    owner(organisation)
    initiative = published(months_ago(19), lead_organisation=organisation)
    # Another worker recorded this reminder between our look and our insert.
    late = list(freshness.due())
    FreshnessReminder.objects.create(initiative=initiative, months=18, due_for=initiative.owner_updated_at)  # fmt: skip

    assert [i.pk for i in late] == [initiative.pk]
    assert freshness.send_reminders() == {"owners": 0, "moderators": 0}
    assert FreshnessReminder.objects.count() == 1


# --- The "still current" link --------------------------------------------------------------


@pytest.fixture
def reminded():
    organisation = make_organisation()
    owner(organisation)
    initiative = published(months_ago(19), lead_organisation=organisation, title="Bytte-bua")
    freshness.send_reminders()
    reminder = FreshnessReminder.objects.get(initiative=initiative)
    return reminder, f"/en/tiltak/fortsatt-aktuelt/{freshness.token_for(reminder)}/"


def test_opening_the_link_changes_nothing(client, reminded):
    reminder, url = reminded
    before = (reminder.initiative.owner_updated_at, CatalogueChange.objects.count())

    response = client.get(url)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Bytte-bua" in page
    assert "Yes, it is still current" in page
    reminder.refresh_from_db()
    reminder.initiative.refresh_from_db()
    assert reminder.used_at is None
    assert (reminder.initiative.owner_updated_at, CatalogueChange.objects.count()) == before


def test_confirming_works_once_without_logging_in(reminded):
    reminder, url = reminded
    browser = Client(enforce_csrf_checks=True)
    browser.get(url)
    csrf = browser.cookies["csrftoken"].value
    started = timezone.now()

    response = browser.post(url, {"csrfmiddlewaretoken": csrf}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [(url, 302)]
    page = response.content.decode()
    assert "is marked as still current" in page
    assert "Already confirmed" in page
    reminder.refresh_from_db()
    initiative = Initiative.objects.get(pk=reminder.initiative_id)
    assert reminder.used_at >= started
    assert initiative.owner_updated_at == reminder.used_at
    assert not initiative.is_stale
    assert initiative not in Initiative.objects.stale()

    again = browser.post(url, {"csrfmiddlewaretoken": csrf})
    second = browser.get(url)

    assert again.status_code == 200
    assert "Already confirmed" in again.content.decode()
    assert second.status_code == 200
    assert "Someone confirmed with this link on" in second.content.decode()
    assert "Yes, it is still current" not in second.content.decode()
    assert Initiative.objects.get(pk=initiative.pk).owner_updated_at == initiative.owner_updated_at
    assert FreshnessReminder.objects.get(pk=reminder.pk).used_at == reminder.used_at


def test_a_post_without_the_csrf_token_is_refused(reminded):
    reminder, url = reminded

    response = Client(enforce_csrf_checks=True).post(url)

    assert response.status_code == 403
    reminder.refresh_from_db()
    assert reminder.used_at is None


def old_token(reminder: FreshnessReminder, days: int) -> str:
    """A token signed `days` ago, as the reminder's mail would have held."""

    class Then(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - days * 24 * 3600)

    return Then(salt=freshness.TOKEN_SALT).sign(str(reminder.pk))


def test_an_expired_link_is_refused_with_the_way_forward(client, reminded, settings):
    reminder, _url = reminded
    settings.FRESHNESS_LINK_DAYS = 60
    url = f"/en/tiltak/fortsatt-aktuelt/{old_token(reminder, 61)}/"

    page = client.get(url)
    posted = client.post(url)

    assert page.status_code == 410
    assert posted.status_code == 410
    text = page.content.decode()
    assert "The link has expired" in text
    assert f"/en/tiltak/{reminder.initiative.slug}/rapporter/ny/" in text
    reminder.refresh_from_db()
    assert reminder.used_at is None
    still_valid = f"/en/tiltak/fortsatt-aktuelt/{old_token(reminder, 59)}/"
    assert client.get(still_valid).status_code == 200


def test_a_used_link_says_so_even_after_it_expired(client, reminded):
    reminder, _url = reminded
    reminder.confirm_still_current()

    response = client.get(f"/en/tiltak/fortsatt-aktuelt/{old_token(reminder, 90)}/")

    assert response.status_code == 200
    assert "Already confirmed" in response.content.decode()


def test_an_initiative_archived_since_cannot_be_confirmed(client, reminded, moderator):
    reminder, url = reminded
    reminder.initiative.archive(by=moderator)
    before = Initiative.objects.get(pk=reminder.initiative_id).owner_updated_at

    page = client.get(url)
    posted = client.post(url)

    assert page.status_code == 410
    assert posted.status_code == 410
    assert "The initiative is no longer published" in page.content.decode()
    assert "Bytte-bua" not in page.content.decode()
    assert Initiative.objects.get(pk=reminder.initiative_id).owner_updated_at == before
    reminder.refresh_from_db()
    assert reminder.used_at is None


def tampered(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize(
    "junk",
    ["x", "1", "1:2:3", "abc:def", "a" * 500, "æøå", "%E2%80%AE", "..", "-1:1abc:xyz"],
)
def test_junk_tokens_get_a_clear_404(client, junk):
    response = client.get(f"/en/tiltak/fortsatt-aktuelt/{junk}/")
    posted = client.post(f"/en/tiltak/fortsatt-aktuelt/{junk}/")

    assert response.status_code == 404
    assert posted.status_code == 404
    assert "The link does not work" in response.content.decode()


@pytest.mark.parametrize("junk", ["%00", "1%00:x:y"])
def test_a_nul_byte_in_the_link_is_a_bad_request(client, junk):
    # Refused before any view, as at every URL (ideabank.clean_input).
    assert client.get(f"/en/tiltak/fortsatt-aktuelt/{junk}/").status_code == 400


def test_a_tampered_token_or_another_salt_is_404(client, reminded):
    reminder, url = reminded
    token = url.split("/")[-2]
    other_salt = signing.TimestampSigner(salt="something-else").sign(str(reminder.pk))
    missing = signing.TimestampSigner(salt=freshness.TOKEN_SALT).sign("999999")

    for bad in (tampered(token), other_salt, missing, signing.TimestampSigner(salt=freshness.TOKEN_SALT).sign("x")):  # fmt: skip
        assert client.get(f"/en/tiltak/fortsatt-aktuelt/{bad}/").status_code == 404
    reminder.refresh_from_db()
    assert reminder.used_at is None


def test_fortsatt_aktuelt_is_no_initiative_slug():
    from initiatives.forms import unique_slug

    assert unique_slug("Fortsatt aktuelt") != "fortsatt-aktuelt"
