"""Following and discussing in a real browser (issue 15): a person follows a search, a
matching initiative is published, the digest job runs and its mail's links work (the
initiative, and leaving without logging in); a question is asked on an initiative and its
owner answers it and marks the answer. The new parts have no WCAG 2.1 A/AA violation
(axe-core) in Bokmål and English, are valid HTML and are done by keyboard."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from ideabank import tasks
from ideabank.models import Comment, Follow, FollowMail, Profile
from initiatives.models import Initiative, InitiativeStatusChange
from tests.browser.conftest import publish
from tests.browser.helpers import FOCUS_SHOWN, axe_report, tab_to, wcag_violations
from tests.browser.test_small_screen import too_wide
from tests.factories import make_comment, make_network

pytestmark = pytest.mark.browser


def assert_no_violations(page) -> None:
    violations = wcag_violations(page)
    if violations:
        pytest.fail(f"{page.url}\n{axe_report(violations)}", pytrace=False)


def site_links(mail, site: str) -> list[str]:
    """Every link to the site in a mail, pointed at the live server."""
    return [site + path for path in re.findall(rf"{re.escape(settings.SITE_URL)}(/\S*)", mail.body)]


def test_follow_a_search_then_the_digest_links_to_the_new_initiative(
    page_for, bank, people, mailoutbox
):
    reader = people.bergen_member
    Profile.objects.filter(user=reader).update(follow_mail=FollowMail.WEEKLY)
    page = page_for(reader)
    page.goto(bank.url("/tiltak/?q=sykkel", "en"))

    tab_to(page, "form[action*='/konto/folg/sok/'] button[type=submit]")
    assert page.evaluate(FOCUS_SHOWN)
    page.keyboard.press("Enter")

    expect(page.locator("form[action*='/konto/folg/slutt/'] button")).to_have_text(
        "Stop following this search"
    )
    follow = Follow.objects.get(user=reader)
    assert follow.kind == Follow.Kind.SEARCH
    assert "sykkel" in follow.search
    # The follow is older than the window the job reads (it ends a minute before now).
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Follow.objects.filter(pk=follow.pk).update(created=an_hour_ago)
    # Sent in, then published by a moderator as in the admin (history, search, engine).
    matching = publish(
        title="Trygg sykkel til alle skoler",
        summary="Med trygg sykkel-parkering sykler flere.",
        goals=[11],
        status=Initiative.Status.SUBMITTED,
    )
    other = publish(
        title="Solceller på rådhuset",
        summary="Tak med solceller.",
        goals=[7],
        status=Initiative.Status.SUBMITTED,
    )
    draft = publish(
        title="Sykkelverksted i biblioteket (utkast)",
        summary="Sykkel",
        status=Initiative.Status.DRAFT,
    )
    for initiative in (matching, other):
        initiative.publish(by=people.moderator, notify=False)
    # The job reads up to a minute before now: the publications happened half an hour ago.
    InitiativeStatusChange.objects.filter(
        initiative__in=[matching, other], to_status=Initiative.Status.PUBLISHED
    ).update(created=an_hour_ago + timedelta(minutes=30))
    mailoutbox.clear()

    tasks.send_weekly_digests.call()
    tasks.send_weekly_digests.call()  # the second run finds nothing new

    digests = [mail for mail in mailoutbox if reader.email in mail.to]
    assert len(digests) == 1
    digest = digests[0]
    assert matching.title in digest.body
    assert other.title not in digest.body
    assert draft.title not in digest.body
    assert digest.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    links = site_links(digest, bank.site)
    to_initiative = next(link for link in links if link.endswith(f"/tiltak/{matching.slug}/"))
    page.goto(to_initiative)
    expect(page.get_by_role("heading", level=1)).to_have_text(matching.title)

    # Leaving from the mail needs no log-in: a fresh browser with no session.
    leave = digest.extra_headers["List-Unsubscribe"].strip("<>").replace(settings.SITE_URL, "")
    anonymous = page_for()
    anonymous.goto(bank.site + leave)
    assert_no_violations(anonymous)
    tab_to(anonymous, "main button[type=submit]")
    anonymous.keyboard.press("Enter")
    expect(anonymous.locator("main")).not_to_contain_text("Internal")
    assert Profile.objects.get(user=reader).follow_mail == FollowMail.NEVER


def test_ask_a_question_and_the_owner_answers_it(page_for, bank, people, mailoutbox):
    initiative = bank.initiatives["kindergartens"]  # led by Oslo kommune
    path = f"/tiltak/{initiative.slug}/"
    asker = page_for(people.bergen_member)
    asker.goto(bank.url(path, "en"))

    asker.get_by_label("Question", exact=True).check()
    asker.locator("textarea[name=body]").fill(
        "Hvilken vekt brukte dere?\nVi ser på https://example.org/vekt"
    )
    asker.locator(".comments__form button[type=submit]").click()

    question = Comment.objects.get(initiative=initiative)
    assert question.kind == Comment.Kind.QUESTION
    assert question.author == people.bergen_member
    expect(asker.locator(f"#kommentar-{question.pk}")).to_contain_text("Hvilken vekt")
    link = asker.locator(f"#kommentar-{question.pk} .comment__body a")
    expect(link).to_have_attribute("href", "https://example.org/vekt")
    expect(asker.locator(".comment__status")).to_have_text(re.compile("Not answered yet"))
    # The owners were told, in their language.
    assert [mail for mail in mailoutbox if people.oslo_member.email in mail.to]

    owner = page_for(people.oslo_member)
    owner.goto(bank.url(path, "en"))
    tab_to(owner, f"#kommentar-{question.pk} a[href$='/svar/']")
    assert owner.evaluate(FOCUS_SHOWN)
    owner.keyboard.press("Enter")
    owner.wait_for_url(re.compile(r"/svar/$"))
    assert_no_violations(owner)
    owner.locator("textarea[name=body]").fill("En vanlig kjøkkenvekt holder.")
    owner.locator("main form button[type=submit]").click()

    reply = Comment.objects.get(parent=question)
    owner.goto(bank.url(path, "en"))
    tab_to(owner, f"#kommentar-{reply.pk} form button[type=submit]")
    owner.keyboard.press("Enter")

    expect(owner.locator(f"#kommentar-{reply.pk} .comment__answer")).to_contain_text(
        "Answer from the initiative's owners"
    )
    assert Comment.objects.get(pk=reply.pk).is_answer
    asker.reload()
    expect(asker.locator(".comment__status")).to_have_text(re.compile("Answered"))
    # The asker was told about the reply.
    assert [mail for mail in mailoutbox if people.bergen_member.email in mail.to]


@pytest.fixture
def discussed(bank, people):
    """The kindergartens initiative with a question, its marked answer, a comment with a
    long word and a link, and a hidden one (its writer sees it with the reason)."""
    initiative = bank.initiatives["kindergartens"]
    question = make_comment(
        initiative=initiative,
        author=people.bergen_member,
        organisation=people.bergen,
        kind=Comment.Kind.QUESTION,
        body="Hvordan fikk dere med kjøkkenet?",
    )
    make_comment(
        initiative=initiative,
        parent=question,
        author=people.oslo_member,
        organisation=people.oslo,
        body="Vi startet med ett kjøkken.",
        answer_marked_at=timezone.now(),
    )
    make_comment(
        initiative=initiative,
        author=people.bergen_member,
        body="Se https://example.org/en-svaert-lang-adresse-"
        + "x" * 80
        + " og "
        + "Matsvinnregistreringsprosjektdeltakerkommunesamarbeid",
    )
    hidden = make_comment(initiative=initiative, author=people.bergen_member, body="Reklame")
    hidden.hide(by=people.moderator, reason="Reklame er ikke lov.")
    return initiative


@pytest.mark.parametrize("language", ["nb", "en"])
@pytest.mark.parametrize("who", ["anonymous", "writer", "owner"])
def test_the_thread_has_no_wcag_violations(page_for, bank, people, discussed, language, who):
    user = {"anonymous": None, "writer": people.bergen_member, "owner": people.oslo_member}[who]
    page = page_for(user)

    response = page.goto(bank.url(f"/tiltak/{discussed.slug}/", language))

    assert response.status == 200
    expect(page.locator(".comment-list > li")).to_have_count(3 if who == "writer" else 2)
    assert_no_violations(page)


@pytest.mark.parametrize("language", ["nb", "en"])
def test_the_new_pages_have_no_wcag_violations(page_for, bank, people, discussed, language):
    page = page_for(people.bergen_member)
    question = Comment.objects.get(initiative=discussed, kind=Comment.Kind.QUESTION)
    Follow.objects.create(
        user=people.bergen_member, kind=Follow.Kind.INITIATIVE, initiative=discussed
    )
    Follow.objects.create(user=people.bergen_member, kind=Follow.Kind.SEARCH, search="q=matsvinn")
    network = make_network(name="Klimanettverket", slug="klimanettverket")
    make_comment(network=network, author=people.oslo_member, body="Neste møte er i mars.")
    for path in (
        "/konto/profil/",
        "/konto/profil/folger/",
        f"/kommentarer/{question.pk}/meld-fra/",
        f"/kommentarer/{question.pk}/svar/",
        f"/kommentarer/{question.pk}/endre/",
        f"/kommentarer/{question.pk}/slett/",
        "/tiltak/?q=matsvinn",
        f"/nettverk/{network.slug}/",
    ):
        page.goto(bank.url(path, language))
        assert_no_violations(page)
    # A form with errors: an empty comment.
    page.goto(bank.url(f"/tiltak/{discussed.slug}/", language))
    page.locator(".comments__form button[type=submit]").click()
    expect(page.locator(".ds-error-summary, [data-error-summary]").first).to_be_visible()
    assert_no_violations(page)


def test_the_thread_fits_a_small_screen(page_for, bank, people, discussed):
    page = page_for(people.bergen_member, viewport={"width": 320, "height": 640})

    page.goto(bank.url(f"/tiltak/{discussed.slug}/", "en"))

    expect(page.locator(".comment-list > li")).to_have_count(3)
    assert too_wide(page) == []
