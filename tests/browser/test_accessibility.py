"""axe-core finds no WCAG 2.1 A/AA violation on any page, in Bokmål and English.

The public pages as a visitor sees them; the account pages, my page, joining and
proposing an organisation, the submission form, the preview, adoption, contact and
the moderators' review page as the people who use them see them, forms with their
errors shown included. Networks, working groups and events (issue 5) on a data set of
their own: lists with filters, each registration state of an event page, the
registration form with errors, the cancel page (and its 404), join requests as the
coordinator and a member see them.
"""

from dataclasses import dataclass, field

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

from ideabank.models import confirmation_token
from initiatives import history
from initiatives.models import Goal, Initiative, Purpose, request_membership
from tests.browser.helpers import (
    ERROR_SUMMARY,
    NOTICES,
    axe_report,
    in_language,
    wcag_violations,
)
from tests.factories import (
    make_adoption,
    make_attachment,
    make_confirmed_user,
    make_initiative,
    make_link,
    make_participation,
    make_user,
)

pytestmark = pytest.mark.browser

PAGES = {
    "home": "/",
    "list": "/tiltak/",
    "list-two-filters": "/tiltak/?purpose=across-sectors&goal=2",
    "list-search": "/tiltak/?q=matsvinn",
    "list-empty": "/tiltak/?q=qzxjvbwk",
    "initiative": "/tiltak/matsvinn-i-barnehager/",
    "goal": "/barekraftsmal/12/",
    "organisation": "/organisasjoner/oslo-kommune/",
    "actor-type": "/aktortyper/kindergarten/",
    "purpose": "/formal/across-sectors/",
    "about": "/om/",
    "accessibility": "/tilgjengelighet/",
    "privacy": "/personvern/",
}


@pytest.mark.parametrize("language", ["nb", "en"])
@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_wcag_violations(page, bank, name, language):
    response = page.goto(bank.url(PAGES[name], language))

    violations = wcag_violations(page)

    assert response.status == 200
    if violations:
        pytest.fail(f"{page.url}\n{axe_report(violations)}", pytrace=False)


# --- Pages for people who sign in, and forms ----------------------------------------


@dataclass(frozen=True)
class Visit:
    path: str  # may name any key of World.slugs: {draft}, {token}...
    who: str | None = None  # a key of World.users; None is an anonymous visitor
    press: str | None = None  # the button (source text) that sends the form empty
    errors: str = ERROR_SUMMARY  # what shows the errors after pressing it
    lands_on: str | None = None  # where `path` redirects to, if it does
    status: int = 200  # of the page as `path` shows it
    prepare: str | None = None  # JavaScript run on the page before pressing
    shows: str | None = None  # a selector for what this visit is about, which must be visible


FORM_PAGES = {
    # Accounts.
    "signup": Visit("/konto/registrer/"),
    "signup-errors": Visit("/konto/registrer/", press="Create account"),
    "signup-done": Visit("/konto/registrer/sendt/"),
    "login": Visit("/konto/logg-inn/"),
    "login-errors": Visit("/konto/logg-inn/", press="Log in"),
    "password-reset": Visit("/konto/glemt-passord/"),
    "password-reset-errors": Visit("/konto/glemt-passord/", press="Send me a link"),
    "password-reset-done": Visit("/konto/glemt-passord/sendt/"),
    # Django moves the token from the address into the session, then shows the form.
    "password-reset-confirm": Visit(
        "/konto/glemt-passord/ny/{uid}/{reset_token}/",
        lands_on="/konto/glemt-passord/ny/{uid}/set-password/",
    ),
    "password-reset-confirm-errors": Visit(
        "/konto/glemt-passord/ny/{uid}/{reset_token}/",
        lands_on="/konto/glemt-passord/ny/{uid}/set-password/",
        press="Save the new password",
    ),
    "password-reset-complete": Visit("/konto/glemt-passord/ferdig/"),
    "confirm-email": Visit("/konto/bekreft/{token}/", who="unconfirmed"),
    "profile": Visit("/konto/profil/", who="unconfirmed"),
    "password-change": Visit("/konto/passord/", who="owner"),
    "password-change-errors": Visit("/konto/passord/", who="owner", press="Change password"),
    "password-change-done": Visit("/konto/passord/endret/", who="owner"),
    "delete-account": Visit("/konto/profil/slett/", who="owner"),
    "delete-account-errors": Visit("/konto/profil/slett/", who="owner", press="Delete my account"),
    "account-deleted": Visit("/konto/slettet/"),
    # Organisations and my page.
    "my-page": Visit("/min-side/", who="owner"),
    "my-page-unconfirmed": Visit("/min-side/", who="unconfirmed"),
    "join": Visit("/organisasjoner/bli-med/", who="newcomer"),
    "join-errors": Visit("/organisasjoner/bli-med/", who="newcomer", press="Ask to join"),
    # Joining reaches other people: an unconfirmed account is told to confirm first.
    "join-unconfirmed": Visit("/organisasjoner/bli-med/", who="unconfirmed", status=403),
    "propose": Visit("/organisasjoner/foresla/", who="newcomer"),
    "propose-errors": Visit(
        "/organisasjoner/foresla/", who="newcomer", press="Propose the organisation"
    ),
    # The submission form, the preview, the review.
    "create": Visit("/del-tiltak/", who="owner"),
    "create-errors": Visit("/del-tiltak/", who="owner", press="Submit for review"),
    "edit": Visit("/tiltak/{draft}/rediger/", who="owner"),
    "edit-errors": Visit("/tiltak/{draft}/rediger/", who="owner", press="Submit for review"),
    "preview": Visit("/tiltak/{draft}/forhandsvisning/", who="owner"),
    "review": Visit("/admin/initiatives/initiative/{submitted}/review/", who="moderator"),
    "review-errors": Visit(
        "/admin/initiatives/initiative/{submitted}/review/",
        who="moderator",
        press="Reject",
        errors=".errornote",
    ),
    # Adoption and contact.
    "initiative-signed-in": Visit("/tiltak/{canteens}/", who="owner"),
    "adoption": Visit("/tiltak/{canteens}/ta-i-bruk/", who="owner"),
    "adoption-edit": Visit("/tiltak/{furniture}/ta-i-bruk/{adoption}/endre/", who="adopter"),
    "contact": Visit("/tiltak/matsvinn-i-barnehager/kontakt/", who="newcomer"),
    "contact-errors": Visit(
        "/tiltak/matsvinn-i-barnehager/kontakt/", who="newcomer", press="Send the message"
    ),
}


@dataclass
class World:
    users: dict = field(default_factory=dict)
    slugs: dict = field(default_factory=dict)


@pytest.fixture
def world(bank, people) -> World:
    """Something on every page: a draft with rows, a rejection, a request to join."""
    owner = people.oslo_member
    unconfirmed = make_user(username="ny@example.org", email="ny@example.org", first_name="Ny")
    # Confirmed, in no organisation yet: joins, proposes, writes to a contact person.
    newcomer = make_confirmed_user(
        username="nykommer@example.org", email="nykommer@example.org", first_name="Nina"
    )
    request_membership(unconfirmed, people.oslo)
    draft = make_initiative(
        title="Regnbed i bydelene",
        slug="regnbed-i-bydelene",
        lead_organisation=people.oslo,
        created_by=owner,
        summary="",
        contact_name="Ola Oslo",
        contact_email="ola@example.org",
    )
    draft.goals.set(Goal.objects.filter(number__in=[6, 11]))
    draft.purposes.set(Purpose.objects.filter(slug="across-sectors"))
    draft.tags.set(["regnbed", "overvann"])
    make_participation(initiative=draft, organisation=people.bergen)
    make_link(initiative=draft, title="Prosjektside", url="https://example.org/regnbed")
    make_attachment(initiative=draft, title="Plan")
    submitted = make_initiative(
        title="Grønne tak på skolene",
        lead_organisation=people.oslo,
        created_by=owner,
        status=Initiative.Status.SUBMITTED,
    )
    make_initiative(
        title="Delebiler for ansatte",
        lead_organisation=people.oslo,
        created_by=owner,
        status=Initiative.Status.REJECTED,
    )
    furniture = bank.initiatives["furniture"]
    adoption = make_adoption(initiative=furniture, organisation=people.bergen, note="Godt råd.")
    Initiative.objects.filter(slug="matsvinn-i-barnehager").update(contact_email="kari@example.org")
    Initiative.objects.all().refresh_search_vectors()
    return World(
        users={
            "owner": owner,
            "unconfirmed": unconfirmed,
            "newcomer": newcomer,
            "moderator": people.moderator,
            "adopter": people.bergen_member,
        },
        slugs={
            "draft": draft.slug,
            "submitted": submitted.pk,
            "canteens": bank.initiatives["school_canteens"].slug,
            "furniture": furniture.slug,
            "adoption": adoption.pk,
            "token": confirmation_token(unconfirmed),
            "uid": urlsafe_base64_encode(force_bytes(unconfirmed.pk)),
            "reset_token": default_token_generator.make_token(unconfirmed),
        },
    )


@pytest.mark.parametrize("name", list(FORM_PAGES))
def test_form_page_has_no_wcag_violations(page, bank, world, page_for, name):
    """Both languages in one test: the data set behind these pages is slow to build."""
    visit = FORM_PAGES[name]
    browser_page = page if visit.who is None else page_for(world.users[visit.who])
    reports = []

    for language in ("nb", "en"):
        response = browser_page.goto(bank.url(visit.path.format(**world.slugs), language))
        # Not sent to log in, nor anywhere else.
        landed = bank.url((visit.lands_on or visit.path).format(**world.slugs), language)
        assert (response.status, browser_page.url) == (visit.status, landed)
        if visit.press:
            button = browser_page.locator("main").get_by_role(
                "button", name=in_language(visit.press, language), exact=True
            )
            with browser_page.expect_navigation():
                button.click()
            expect(browser_page.locator(visit.errors)).to_be_visible()
        violations = wcag_violations(browser_page)
        if violations:
            reports.append(f"{browser_page.url}\n{axe_report(violations)}")

    if reports:
        pytest.fail("\n".join(reports), pytrace=False)


def test_edit_conflict_page_has_no_wcag_violations(bank, world, people, page_for):
    """Someone else saves while the owner edits: the page showing both versions."""
    browser_page = page_for(world.users["owner"])
    reports = []

    for language in ("nb", "en"):
        browser_page.goto(bank.url(f"/tiltak/{world.slugs['draft']}/rediger/", language))
        draft = Initiative.objects.get(slug=world.slugs["draft"])
        with history.change(draft, by=people.moderator, comment=history.EDITED):
            draft.summary = f"Endret av en annen mens skjemaet var åpent ({language})."
            draft.save()
        button = browser_page.locator("main").get_by_role(
            "button", name=in_language("Save draft", language), exact=True
        )
        with browser_page.expect_navigation():
            button.first.click()
        expect(browser_page.locator(".edit-conflict")).to_be_visible()
        violations = wcag_violations(browser_page)
        if violations:
            reports.append(f"{browser_page.url}\n{axe_report(violations)}")

    if reports:
        pytest.fail("\n".join(reports), pytrace=False)


# --- Networks, working groups and events (issue 5) -------------------------------------

# Each path may name any key of Gatherings.slugs: {network}, {open}, {token}...
GATHERING_PAGES = {
    # Networks, as a visitor sees them.
    "network-list": Visit("/nettverk/", shows=".network-card--subgroup"),
    "network-list-filtered": Visit(
        "/nettverk/?scope=regional&focus_area=food-and-food-waste", shows=".network-card"
    ),
    "network": Visit("/nettverk/{network}/", shows=".subgroup-list"),
    "network-subgroup": Visit("/nettverk/{subgroup}/", shows=".network__members"),
    # ... as a member of the coordinating organisation, with a request to decide on.
    "network-coordinator": Visit(
        "/nettverk/{network}/", who="coordinator", shows=".request-list__item"
    ),
    # ... as a member of an organisation not in the network: the join form.
    "network-member": Visit("/nettverk/{network}/", who="member", shows=".network__join-form"),
    "network-join": Visit("/nettverk/{network}/bli-med/", who="member", shows="#id_organisation"),
    # The one organisation offered cannot be left out: a forged choice shows the errors.
    "network-join-errors": Visit(
        "/nettverk/{network}/bli-med/",
        who="member",
        prepare="() => { document.querySelector('#id_organisation option').value = '999999'; }",
        press="Ask to join",
    ),
    # Signed in, but for no organisation.
    "network-join-no-organisation": Visit(
        "/nettverk/{network}/bli-med/", who="moderator", status=403
    ),
    # Working groups.
    "working-group-list": Visit("/arbeidsgrupper/", shows=".wg-card"),
    "working-group-list-filtered": Visit(
        "/arbeidsgrupper/?focus_area=food-and-food-waste", shows=".wg-card"
    ),
    "working-group": Visit("/arbeidsgrupper/{group}/", shows=".wg-events"),
    "working-group-report": Visit(
        "/arbeidsgrupper/{group}/arsrapport/", shows=".wg-report__summary"
    ),
    # Events.
    "event-list": Visit("/arrangementer/", shows=".event-card .ds-tag"),
    "event-list-filtered": Visit(
        "/arrangementer/?kind=workshop&audience=municipality", shows=".event-card"
    ),
    # A month that is no month: dropped with a notice above the list.
    "event-list-bad-month": Visit("/arrangementer/?month=2026-13", shows=NOTICES),
    "event-past-list": Visit("/arrangementer/tidligere/", shows=".event-card"),
    "event-past-list-filtered": Visit(
        "/arrangementer/tidligere/?kind=webinar&organiser=network:klimanettverket",
        shows=".event-card",
    ),
    "event-open": Visit("/arrangementer/{open}/", shows=".registration-form"),
    "event-open-errors": Visit(
        "/arrangementer/{open}/",
        press="Register",
        lands_on="/arrangementer/{open}/pamelding/",
    ),
    "event-full": Visit("/arrangementer/{full}/", shows=".event__registration .ds-alert"),
    "event-closed": Visit("/arrangementer/{closed}/"),
    "event-no-registration": Visit("/arrangementer/{none}/"),
    "event-past": Visit("/arrangementer/{past}/", shows=".programme"),
    "event-cancelled": Visit("/arrangementer/{cancelled}/", shows=".event__cancelled"),
    "registration-cancel": Visit("/arrangementer/avmeld/{token}/", shows="main form button"),
    "registration-cancel-forged": Visit("/arrangementer/avmeld/ikke-en-ekte-lenke/", status=404),
    # The organisation page lists its networks and working-group seats.
    "organisation-gatherings": Visit(
        "/organisasjoner/oslo-kommune/",
        shows="main a[href$='/arbeidsgrupper/sirkular-produksjon/']",
    ),
}


@pytest.mark.parametrize("name", list(GATHERING_PAGES))
def test_gathering_page_has_no_wcag_violations(page, gatherings, people, bank, page_for, name):
    """Both languages in one test, as for the form pages."""
    visit = GATHERING_PAGES[name]
    users = {
        "coordinator": people.oslo_member,
        "member": people.bergen_member,
        "moderator": people.moderator,
    }
    browser_page = page if visit.who is None else page_for(users[visit.who])
    reports = []

    for language in ("nb", "en"):
        response = browser_page.goto(bank.url(visit.path.format(**gatherings.slugs), language))
        assert response.status == visit.status, browser_page.url
        if visit.prepare:
            browser_page.evaluate(visit.prepare)
        if visit.press:
            button = browser_page.locator("main").get_by_role(
                "button", name=in_language(visit.press, language), exact=True
            )
            with browser_page.expect_navigation():
                button.click()
            expect(browser_page.locator(visit.errors)).to_be_visible()
        landed = bank.url((visit.lands_on or visit.path).format(**gatherings.slugs), language)
        assert browser_page.url == landed
        if visit.shows:
            expect(browser_page.locator(visit.shows).first).to_be_visible()
        violations = wcag_violations(browser_page)
        if violations:
            reports.append(f"{browser_page.url}\n{axe_report(violations)}")

    if reports:
        pytest.fail("\n".join(reports), pytrace=False)
