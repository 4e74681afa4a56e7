"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

One browser per session, one page per test. Live-server tests are transactional,
so the database is flushed after each one: `bank` reloads the reference data
when it is gone and builds a small known set of initiatives every time.
"""

import importlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page

from initiatives.models import (
    MODERATORS_GROUP,
    ActorType,
    County,
    FocusArea,
    Goal,
    Initiative,
    Municipality,
    Organisation,
    OrganisationMember,
    Participation,
    Purpose,
    Target,
)
from networks.models import (
    Event,
    EventRegistration,
    Membership,
    Network,
    Presentation,
    WorkingGroup,
    WorkingGroupMember,
)
from tests.browser.helpers import watch_csp
from tests.factories import (
    make_adoption,
    make_confirmed_user,
    make_event,
    make_initiative,
    make_link,
    make_membership,
    make_network,
    make_org_member,
    make_organisation,
    make_registration,
    make_working_group,
    make_working_group_member,
)

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = f"Chromium not installed ({CHROMIUM}): browser tests skipped"
Status = Initiative.Status
HIDDEN_STATUSES = [Status.DRAFT, Status.SUBMITTED, Status.REJECTED, Status.ARCHIVED]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives a real browser (Chromium) against the live server"
    )
    # pytest-playwright's own base_url fixture (a method of a plugin class) trips this
    # deprecation in pytest 9; nothing here uses base_url.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Session-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning",
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Live-server tests run last, after every test that relies on the reference data.

    pytest-django sorts transactional tests last, but pytest then groups the tests of
    pytest-playwright's session-scoped `browser_name` parameter wherever the first one
    stands: their flushes would empty the tables under the tests that follow.
    """
    flushing = [item for item in items if "live_server" in getattr(item, "fixturenames", ())]
    others = [item for item in items if "live_server" not in getattr(item, "fixturenames", ())]
    items[:] = others + flushing


@pytest.fixture(scope="session", autouse=True)
def _orm_beside_playwright() -> Iterator[None]:
    """Let the ORM run in the thread where Playwright's sync API keeps an event loop.

    Only while browser tests run (they run last): a subprocess another test starts
    would inherit it, and `manage.py check --deploy` rightly refuses it.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="session", autouse=True)
def _chromium_installed() -> None:
    """Without Chromium the browser tests skip, unless CI demands them."""
    if CHROMIUM.exists():
        return
    if os.environ.get("IDEABANK_REQUIRE_BROWSER") == "1":
        pytest.fail(NO_CHROMIUM, pytrace=False)
    pytest.skip(NO_CHROMIUM)


@pytest.fixture(scope="session")
def browser_type_launch_args(_chromium_installed) -> dict:
    # Debian's Chromium only: Playwright never downloads a browser of its own.
    return {
        "executable_path": str(CHROMIUM),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def csp_violations() -> list[str]:
    """What the browser console said about the Content Security Policy during the test."""
    return []


@pytest.fixture
def page(page: Page, csp_violations: list[str]) -> Iterator[Page]:
    """Pytest-playwright's page; any CSP violation on it fails the test (at teardown)."""
    watch_csp(page, csp_violations)
    yield page
    assert csp_violations == [], "Content Security Policy violations:\n" + "\n".join(csp_violations)


@dataclass
class Bank:
    """The known data set every browser test starts from."""

    site: str  # the live server's address, without a trailing slash
    initiatives: dict[str, Initiative] = field(default_factory=dict)
    hidden_titles: list[str] = field(default_factory=list)

    def url(self, path: str, language: str = "nb") -> str:
        prefix = "" if language == "nb" else f"/{language}"
        return f"{self.site}{prefix}{path}"

    def titles(self, *keys: str) -> list[str]:
        return sorted(self.initiatives[key].title for key in keys)


def publish(
    *,
    goals=(),
    purposes=(),
    actor_types=(),
    focus_areas=(),
    tags=(),
    targets=(),
    **fields,
) -> Initiative:
    initiative = make_initiative(status=fields.pop("status", Status.PUBLISHED), **fields)
    initiative.goals.set(Goal.objects.filter(number__in=goals))
    initiative.targets.set(Target.objects.filter(code__in=targets))
    initiative.purposes.set(Purpose.objects.filter(slug__in=purposes))
    initiative.actor_types.set(ActorType.objects.filter(slug__in=actor_types))
    initiative.focus_areas.set(FocusArea.objects.filter(slug__in=focus_areas))
    initiative.tags.set(list(tags))
    return initiative


REFERENCE_MODELS = (Goal, Target, County, Municipality, Purpose, FocusArea, ActorType)


@pytest.fixture(scope="session")
def reference_rows(django_db_setup, django_db_blocker) -> dict:
    """The rows load_reference_data writes, read once per session.

    Putting them back after a flush takes one INSERT per model instead of the
    command's few hundred update_or_create calls: about a second per test on PostgreSQL.
    """
    with django_db_blocker.unblock():
        if Goal.objects.count() == 0:
            call_command("load_reference_data", verbosity=0)
        return {model: list(model.objects.order_by("pk")) for model in REFERENCE_MODELS}


@pytest.fixture
def bank(live_server, transactional_db, reference_rows) -> Bank:
    """Six published initiatives, and four hidden ones whose titles must never appear.

    Four of the published ones mention "matsvinn"; of those three serve the purpose
    "across sectors", and two of these work for goal 2: the visitor's path narrows
    4 → 3 → 2.
    """
    if Goal.objects.count() == 0:  # the previous browser test's flush took them
        for model, rows in reference_rows.items():
            model.objects.bulk_create(rows)
    oslo = Municipality.objects.get(number="0301")
    bergen = Municipality.objects.get(number="4601")
    trondelag = County.objects.get(number="50")
    vestland = County.objects.get(number="46")
    oslo_kommune = make_organisation(
        name="Oslo kommune",
        slug="oslo-kommune",
        actor_type=ActorType.objects.get(slug="municipality"),
        municipality=oslo,
        description="Hovedstadens kommune, med mange barnehager og skoler.",
        website="https://www.oslo.kommune.no/",
    )
    bank = Bank(site=live_server.url)
    bank.initiatives["kindergartens"] = publish(
        title="Matsvinn i barnehager",
        slug="matsvinn-i-barnehager",
        summary="Barnehager veier matsvinnet hver dag og halverer det på et år.",
        description="Ansatte og barn veier maten som kastes.\n\nTallene deles med kjøkkenet.",
        lead_organisation=oslo_kommune,
        municipality=oslo,
        phase=Initiative.Phase.RUNNING,
        involvement=Initiative.Involvement.PARTICIPATION,
        start_date=date(2025, 1, 1),
        frame_goals="Halvere matsvinnet.",
        frame_roles="Kommunen koordinerer, barnehagene veier.",
        results="Matsvinnet gikk ned med 48 prosent.",
        lessons="Barna var de beste ambassadørene.",
        transfer_value="Kan gjøres i enhver barnehage med en vekt.",
        contact_name="Kari Nordmann",
        contact_role="Klimarådgiver",
        goals=[2, 12],
        targets=["12.3"],
        purposes=["across-sectors"],
        actor_types=["kindergarten", "municipality"],
        focus_areas=["food-and-food-waste"],
        tags=["matsvinn", "barnehage"],
    )
    bank.initiatives["school_canteens"] = publish(
        title="Veiing av matsvinn i skolekantiner",
        summary="Elever måler matsvinnet i kantina og foreslår tiltak.",
        scope="regional",
        municipality=None,
        county=trondelag,
        phase=Initiative.Phase.PILOT,
        goals=[4, 12],
        purposes=["across-sectors", "share-develop-scale"],
        actor_types=["school"],
        focus_areas=["food-and-food-waste", "competence-and-education"],
        tags=["matsvinn"],
    )
    bank.initiatives["nursing_homes"] = publish(
        title="Mindre matsvinn på sykehjem",
        summary="Mindre porsjoner og bedre bestilling gir mindre matsvinn.",
        municipality=bergen,
        phase=Initiative.Phase.IDEA,
        goals=[2, 3, 12],
        purposes=["across-sectors"],
        actor_types=["health-and-care"],
        focus_areas=["food-and-food-waste"],
        tags=["matsvinn"],
    )
    bank.initiatives["volunteers"] = publish(
        title="Matsvinn og frivillighet",
        summary="Frivillige henter overskuddsmat fra butikker og deler den ut.",
        municipality=oslo,
        phase=Initiative.Phase.RUNNING,
        goals=[2, 12],
        purposes=["regions-and-municipalities"],
        actor_types=["voluntary-organisation"],
        focus_areas=["food-and-food-waste", "public-health-and-inclusion"],
    )
    bank.initiatives["furniture"] = publish(
        title="Sirkulære innkjøp av møbler",
        summary="Kommunen kjøper brukte møbler og setter krav om ombruk.",
        scope="national",
        municipality=None,
        phase=Initiative.Phase.COMPLETED,
        goals=[12],
        purposes=["procurers-and-suppliers"],
        actor_types=["procurement-unit", "municipality"],
        focus_areas=["sustainable-procurement", "sharing-and-reuse"],
        tags=["ombruk"],
    )
    bank.initiatives["cycling"] = publish(
        title="Sykkelvennlig kommune",
        summary="Trygge sykkelveier til skolen for alle barn.",
        scope="regional",
        municipality=None,
        county=vestland,
        phase=Initiative.Phase.RUNNING,
        goals=[3, 11],
        purposes=["municipality-county-state"],
        actor_types=["municipality", "school"],
        focus_areas=["mobility-and-transport"],
    )
    kindergartens = bank.initiatives["kindergartens"]
    Participation.objects.create(
        initiative=kindergartens,
        organisation=make_organisation(name="Bergen kommune", slug="bergen-kommune"),
    )
    make_adoption(initiative=kindergartens)
    make_link(initiative=kindergartens, title="Sluttrapport", url="https://example.org/rapport")
    for status in HIDDEN_STATUSES:
        # Every facet and word the visitor chooses, so any leak would show up.
        hidden = publish(
            title=f"Hemmelig matsvinn ({status})",
            summary="Matsvinn som ingen utenfor skal se.",
            status=status,
            lead_organisation=oslo_kommune,
            municipality=oslo,
            phase=Initiative.Phase.RUNNING,
            goals=[2, 12],
            purposes=["across-sectors"],
            actor_types=["kindergarten"],
            focus_areas=["food-and-food-waste"],
            tags=["matsvinn"],
        )
        bank.hidden_titles.append(hidden.title)
    Initiative.objects.all().refresh_search_vectors()
    for initiative in bank.initiatives.values():
        initiative.refresh_from_db()
    return bank


# --- People who sign in ---------------------------------------------------------------


def restore_moderators_group() -> Group:
    """The Moderators group with its permissions, as networks' migration 0002 makes it.

    A live-server test's flush empties auth_group, and that migration does not run
    again; the permissions themselves come back (post_migrate makes them after a flush).
    """
    migration = importlib.import_module("networks.migrations.0002_moderators_group")
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    wanted = list(migration.codenames())
    if group.permissions.count() != len(wanted):
        group.permissions.set(
            [
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
                for app_label, codename in wanted
            ]
        )
    return group


@dataclass
class People:
    """Signed-in people beside the one a test signs up, all with confirmed addresses."""

    moderator: object  # in the Moderators group, staff: reviews in the admin
    oslo_member: object  # active member of Oslo kommune: approves requests to join it
    bergen_member: object  # active member of Bergen kommune: adopts others' initiatives
    oslo: Organisation
    bergen: Organisation


@pytest.fixture
def people(bank) -> People:
    restore_moderators_group()
    moderator = make_confirmed_user(
        username="moderator@example.org",
        email="moderator@example.org",
        first_name="Mona Moderator",
        is_staff=True,
    )
    moderator.groups.add(Group.objects.get(name=MODERATORS_GROUP))
    oslo = Organisation.objects.get(slug="oslo-kommune")
    bergen = Organisation.objects.get(slug="bergen-kommune")
    members = {}
    for organisation, name in ((oslo, "Ola Oslo"), (bergen, "Berit Bergen")):
        email = f"{organisation.slug}@example.org"
        user = make_confirmed_user(username=email, email=email, first_name=name)
        make_org_member(
            organisation=organisation, user=user, status=OrganisationMember.Status.ACTIVE
        )
        members[organisation.slug] = user
    return People(
        moderator=moderator,
        oslo_member=members["oslo-kommune"],
        bergen_member=members["bergen-kommune"],
        oslo=oslo,
        bergen=bergen,
    )


@pytest.fixture
def page_for(new_context, bank, page, csp_violations) -> Callable[..., Page]:
    """page_for(user): a page in a browser context of its own, signed in as `user`;
    page_for(): an anonymous one. Their CSP violations fail the test like `page`'s.

    The session comes from Django's test client (force_login) and goes to the browser
    as its cookie: the sign-up path tests the forms themselves.
    """

    def open_page(user=None, **context_options) -> Page:
        context = new_context(**context_options)
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": bank.site}]
            )
        new_page = context.new_page()
        watch_csp(new_page, csp_violations)
        return new_page

    return open_page


# --- Networks, working groups and events (issue 5) -------------------------------------


@dataclass
class Gatherings:
    """A network with a sub-group, a working group and events of every registration state."""

    network: Network  # coordinated by Oslo kommune; Bergen kommune is not in it
    subgroup: Network  # Bergen kommune is a member
    group: WorkingGroup  # this year's, led from Oslo kommune, hosted by the network
    events: dict[str, Event]  # open (capacity 1), full, closed, none, past
    registration: EventRegistration  # the one place taken at the full event
    slugs: dict = field(default_factory=dict)  # for paths: {network}, {open}, {token}...


@pytest.fixture
def gatherings(bank, people) -> Gatherings:
    """Everything the networks, working-group and event pages show, on top of `people`.

    Oslo kommune coordinates "Klimanettverket" (its members approve requests to join;
    one from Trondheim kommune waits); Bergen kommune is in the sub-group only, so its
    member is offered the network's join form. The past webinar's programme has a
    published initiative and a hidden one (never shown).
    """
    now = timezone.now()
    food = FocusArea.objects.get(slug="food-and-food-waste")
    vestland = County.objects.get(number="46")
    trondheim = make_organisation(name="Trondheim kommune", slug="trondheim-kommune")
    network = make_network(
        name="Klimanettverket",
        slug="klimanettverket",
        scope="regional",
        county=vestland,
        coordinator=people.oslo,
        description="Kommuner som deler erfaringer med klimatiltak.\n\nVi møtes fire ganger i året.",
        membership_criteria="Kommuner og fylkeskommuner i Vestland.",
        meeting_rhythm="fire ganger i året",
        contact_name="Kari Nordmann",
        contact_role="Koordinator",
        contact_email="kari@example.org",
        website="https://example.org/klimanettverket",
    )
    network.focus_areas.set([food])
    network.goals.set(Goal.objects.filter(number__in=[12, 13]))
    subgroup = make_network(
        name="Klimanettverket Vest",
        slug="klimanettverket-vest",
        parent=network,
        scope="regional",
        county=vestland,
        meeting_rhythm="hver måned",
        description="Kommunene på Vestlandet.",
    )
    subgroup.focus_areas.set([food])
    make_membership(network=network, organisation=people.oslo, role=Membership.Role.COORDINATOR)
    make_membership(network=subgroup, organisation=people.bergen)
    make_membership(
        network=network,
        organisation=trondheim,
        status=Membership.Status.REQUESTED,
        requested_by=make_confirmed_user(
            username="trond@example.org", email="trond@example.org", first_name="Trond Trondheim"
        ),
    )
    group = make_working_group(
        name="Sirkulær produksjon",
        slug="sirkular-produksjon",
        year=timezone.localdate().year,
        focus_area=food,
        host_network=network,
        host_organisation=people.oslo,
        mandate="Finne og foreslå sirkulære tiltak i produksjon.",
        required_meetings=2,
    )
    group.proposed_initiatives.set([bank.initiatives["furniture"]])
    make_working_group_member(
        working_group=group,
        name="Ola Oslo",
        organisation=people.oslo,
        role=WorkingGroupMember.Role.LEADER,
    )
    make_working_group_member(working_group=group, name="Berit Bergen", organisation=people.bergen)
    day = timedelta(days=1)
    municipality = ActorType.objects.get(slug="municipality")
    events = {
        "open": make_event(
            title="Verksted om matsvinn",
            slug="verksted-om-matsvinn",
            kind=Event.Kind.WORKSHOP,
            organiser_network=network,
            starts_at=now + 14 * day,
            venue="Rådhuset, Oslo",
            online_url="https://example.org/verksted",
            description="Vi deler metoder for å veie matsvinn.",
            registration=Event.Registration.OPEN,
            capacity=1,
        ),
        "full": make_event(
            title="Frokostmøte om ombruk",
            slug="frokostmote-om-ombruk",
            kind=Event.Kind.MEETING,
            organiser_organisation=people.oslo,
            starts_at=now + 21 * day,
            venue="Bergen rådhus",
            registration=Event.Registration.OPEN,
            capacity=1,
        ),
        "closed": make_event(
            title="Konferanse om sirkulære innkjøp",
            slug="konferanse-om-sirkulaere-innkjop",
            kind=Event.Kind.CONFERENCE,
            organiser_organisation=people.bergen,
            starts_at=now + 30 * day,
            registration=Event.Registration.CLOSED,
        ),
        "none": make_event(
            title="Åpent møte om sykkelveier",
            slug="apent-mote-om-sykkelveier",
            kind=Event.Kind.OPEN_EVENT,
            organiser_working_group=group,
            starts_at=now + 40 * day,
            online_url="https://example.org/sykkel",
        ),
        "past": make_event(
            title="Bærekraftsfredag: matsvinn",
            slug="baerekraftsfredag-matsvinn",
            kind=Event.Kind.WEBINAR,
            organiser_network=network,
            starts_at=now - 10 * day,
            online_url="https://example.org/webinar",
            recording_url="https://example.org/opptak",
            description="Fire tiltak på en time.",
            registration=Event.Registration.OPEN,
            capacity=100,
        ),
        "cancelled": make_event(
            title="Frokostmøte om gjenbruk",
            slug="frokostmote-om-gjenbruk",
            # Not a workshop: the keyboard path filters the list to the one workshop.
            kind=Event.Kind.MEETING,
            organiser_network=network,
            starts_at=now + 12 * day,
            registration=Event.Registration.OPEN,
            capacity=20,
        ),
        "meeting": make_event(
            title="Arbeidsmøte i Sirkulær produksjon",
            slug="arbeidsmote-sirkular-produksjon",
            kind=Event.Kind.MEETING,
            organiser_working_group=group,
            starts_at=now - 2 * day,
        ),
    }
    for event in events.values():
        event.audience.set([municipality])
    Presentation.objects.create(
        event=events["past"],
        initiative=bank.initiatives["kindergartens"],
        presenter="Kari Nordmann",
        presenter_organisation=people.oslo,
        order=1,
    )
    Presentation.objects.create(
        event=events["past"],
        initiative=Initiative.objects.get(title=bank.hidden_titles[0]),
        presenter="Prosjektleder",
        order=2,
    )
    registration = make_registration(
        event=events["full"], name="Fredrik Fullt", email="fredrik@example.org"
    )
    events["cancelled"].cancel("Foredragsholderen er syk.", by=people.moderator)
    return Gatherings(
        network=network,
        subgroup=subgroup,
        group=group,
        events=events,
        registration=registration,
        slugs={
            "network": network.slug,
            "subgroup": subgroup.slug,
            "group": group.slug,
            "token": registration.cancel_token,
            **{name: event.slug for name, event in events.items()},
        },
    )
