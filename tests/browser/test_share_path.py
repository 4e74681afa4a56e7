"""The whole sharing loop in Chromium, with axe-core on every page it passes.

A newcomer signs up, confirms the address from the e-mail, logs in, asks to join Oslo kommune
(a member of it approves on their page, reached from the e-mail), writes an initiative
and meets a validation error first, fixes it, attaches a PDF and submits it; a
moderator publishes it on the admin review page (reached from the e-mail); a visitor
finds it by search and by its goal; a member of Bergen kommune reports taking it up.
"""

import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect

from ideabank.forms import LoginForm, SignupForm
from initiatives.filters import InitiativeFilter
from initiatives.forms import AdoptionForm, OrganisationJoinForm
from initiatives.models import Adoption, Goal, Initiative, OrganisationMember, Purpose
from tests.browser.helpers import (
    ERROR_SUMMARY,
    FOCUS_SHOWN,
    assert_accessible,
    choose_facet,
    count_heading,
    field_label,
    in_bokmal,
    link_in,
    mails_to,
    minimal_pdf,
    nb,
    notices,
    query,
    result_heading,
    result_titles,
    tab_to,
)

pytestmark = pytest.mark.browser

NAME = "Nina Nykommer"
EMAIL = "nina@example.org"
PASSWORD = "grønne tak og regnbed 2026"
TITLE = "Pollinatorstriper langs kommunale veier"
WORD = "pollinatorstriper"  # in no other initiative: search finds this one only
GOAL = 15  # no other initiative works on it: the goal facet finds this one only
PURPOSE = "across-sectors"
SUMMARY = "Kommunen slår veikantene sjeldnere og sår blomster for bier og sommerfugler."
DESCRIPTION = "Vi kartla veikantene, valgte ut tre strekninger og sådde stedegne arter."
DOCUMENT = "Skjøtselsplan"
NOTE = "Vi sådde striper langs tre bygdeveier i fjor."


def test_sign_up_join_share_publish_find_and_adopt(page, bank, people, page_for):
    goal = Goal.objects.get(number=GOAL)
    purpose = Purpose.objects.get(slug=PURPOSE)

    # --- Sign up --------------------------------------------------------------------
    page.goto(bank.url("/konto/registrer/"))
    assert_accessible(page)
    page.get_by_label(field_label(SignupForm, "name")).fill(NAME)
    page.get_by_label(field_label(SignupForm, "email")).fill(EMAIL)
    page.get_by_label(field_label(SignupForm, "password")).fill(PASSWORD)
    page.get_by_role("button", name=nb("Create account")).click()
    # The same answer whether or not the address has an account: check your e-mail.
    page.wait_for_url(bank.url("/konto/registrer/sendt/"))
    assert nb("We have sent an e-mail to %(email)s.") % {"email": EMAIL} in notices(page)
    assert_accessible(page)

    # --- Confirm the e-mail address, from the test mailbox, and log in -----------------
    (confirmation,) = mails_to(mail.outbox, EMAIL)
    page.goto(link_in(confirmation, bank.site))
    assert_accessible(page)
    page.get_by_role("button", name=nb("Confirm"), exact=True).click()
    page.wait_for_url(re.compile(re.escape(bank.url("/konto/logg-inn/")) + r"\?next="))
    assert nb("Thank you. Your e-mail address %(email)s is confirmed. Log in to go on.") % {
        "email": EMAIL
    } in notices(page)
    assert_accessible(page)
    page.get_by_label(field_label(LoginForm, "username")).fill(EMAIL)
    page.get_by_label(field_label(LoginForm, "password")).fill(PASSWORD)
    page.locator("main").get_by_role("button", name=nb("Log in")).click()
    # An account without an organisation is taken to joining one.
    page.wait_for_url(bank.url("/organisasjoner/bli-med/"))
    assert_accessible(page)

    # --- Ask to join Oslo kommune ------------------------------------------------------
    page.get_by_label(field_label(OrganisationJoinForm, "organisation")).select_option(
        label=people.oslo.name
    )
    page.get_by_role("button", name=nb("Ask to join")).click()
    page.wait_for_url(bank.url("/min-side/"))
    assert_accessible(page)

    # --- A member of Oslo kommune approves, on their page, from the e-mail's link ------
    (join_request,) = mails_to(mail.outbox, people.oslo_member.email)
    approver = page_for(people.oslo_member)
    approver.goto(link_in(join_request, bank.site))
    assert_accessible(approver)
    mail.outbox.clear()
    with approver.expect_navigation(url=bank.url("/min-side/")):
        approver.get_by_role(
            "button", name=re.compile(rf"^{re.escape(nb('Approve'))}\b.*{NAME}")
        ).click()
    assert nb("%(person)s is now a member of %(organisation)s.") % {
        "person": NAME,
        "organisation": people.oslo.name,
    } in notices(approver)
    assert OrganisationMember.objects.get(user__email=EMAIL).is_active
    (approved,) = mails_to(mail.outbox, EMAIL)
    assert people.oslo.name in approved.body

    # --- Write an initiative, and meet a validation error first -----------------------
    page.reload()
    page.locator("main").get_by_role("link", name=nb("Share an initiative")).click()
    page.wait_for_url(bank.url("/del-tiltak/"))
    assert_accessible(page)
    form = page.locator("form.initiative-form__form")
    form.locator("#id_title").fill(TITLE)
    form.locator("#id_description").fill(DESCRIPTION)
    form.locator("#id_scope").select_option("national")
    form.get_by_role("checkbox", name=in_bokmal(purpose), exact=True).check()
    form.get_by_role("checkbox", name=in_bokmal(goal), exact=True).check()
    # No summary: review needs one.
    with page.expect_navigation():
        form.get_by_role("button", name=nb("Submit for review")).click()

    summary_error = nb("Write a summary of one or two sentences.")
    error_summary = page.locator(ERROR_SUMMARY)
    expect(error_summary).to_be_focused()
    expect(error_summary.get_by_role("link")).to_have_text([re.compile(re.escape(summary_error))])
    summary = page.locator("#id_summary")
    expect(summary).to_have_attribute("aria-invalid", "true")
    expect(summary).to_have_attribute("aria-describedby", re.compile(r"\bid_summary_error\b"))
    expect(page.locator("#id_summary_error")).to_have_text(summary_error)
    # What was typed is all still there, and nothing was saved.
    expect(page.locator("#id_title")).to_have_value(TITLE)
    expect(page.locator("#id_description")).to_have_value(DESCRIPTION)
    expect(form.get_by_role("checkbox", name=in_bokmal(goal), exact=True)).to_be_checked()
    assert page.title().startswith(nb("Error:"))
    assert not Initiative.objects.filter(title=TITLE).exists()
    assert_accessible(page)

    # --- Fix it, attach a PDF, submit ---------------------------------------------------
    error_summary.get_by_role("link").click()
    expect(summary).to_be_focused()
    page.keyboard.type(SUMMARY)
    form.locator("#id_attachments-0-title").fill(DOCUMENT)
    form.locator("#id_attachments-0-file").set_input_files(
        {"name": "skjotselsplan.pdf", "mimeType": "application/pdf", "buffer": minimal_pdf()}
    )
    mail.outbox.clear()
    form.get_by_role("button", name=nb("Submit for review")).click()
    page.wait_for_url(re.compile(r"/tiltak/[\w-]+/forhandsvisning/(#.*)?$"))
    initiative = Initiative.objects.get(title=TITLE)
    assert initiative.status == Initiative.Status.SUBMITTED
    assert initiative.lead_organisation == people.oslo
    assert [a.title for a in initiative.attachments.all()] == [DOCUMENT]
    assert initiative.attachments.get().file.read().startswith(b"%PDF-1.4")
    assert nb(
        "Thank you! The initiative is sent for review. You will get an e-mail when a "
        "moderator has looked at it."
    ) in notices(page)
    assert_accessible(page)

    # --- A moderator publishes it on the admin review page, from the e-mail's link -----
    (to_review,) = mails_to(mail.outbox, people.moderator.email)
    moderator = page_for(people.moderator)
    moderator.goto(link_in(to_review, bank.site))
    expect(moderator.get_by_role("heading", level=3)).to_have_text(TITLE)
    expect(moderator.get_by_role("link", name=DOCUMENT)).to_be_visible()
    assert_accessible(moderator)
    mail.outbox.clear()
    moderator.get_by_role("button", name=nb("Publish"), exact=True).click()
    moderator.wait_for_url(bank.url("/admin/initiatives/initiative/"))
    assert_accessible(moderator)
    initiative.refresh_from_db()
    assert initiative.status == Initiative.Status.PUBLISHED
    (published_mail,) = mails_to(mail.outbox, EMAIL)
    assert TITLE in published_mail.body

    # --- A visitor finds it by search --------------------------------------------------
    visitor = page_for()
    visitor.goto(bank.url("/tiltak/"))
    visitor.get_by_role("searchbox", name=nb("Search initiatives")).fill(WORD)
    visitor.keyboard.press("Enter")
    visitor.wait_for_url(lambda url: query(url).get("q") == [WORD])
    assert result_titles(visitor) == [TITLE]
    assert_accessible(visitor)

    # --- ... and by its goal -----------------------------------------------------------
    visitor.goto(bank.url("/tiltak/"))
    goal_label = in_bokmal(InitiativeFilter.base_filters["goal"].label)
    choose_facet(visitor, goal_label, "goal", str(GOAL))
    assert result_heading(visitor) == count_heading(1)
    assert result_titles(visitor) == [TITLE]
    assert_accessible(visitor)
    visitor.get_by_role("link", name=TITLE, exact=True).click()
    visitor.wait_for_url(bank.url(f"/tiltak/{initiative.slug}/"))
    expect(visitor.get_by_role("heading", level=1)).to_have_text(TITLE)
    with visitor.expect_download() as download:
        visitor.get_by_role("link", name=DOCUMENT).click()
    assert download.value.suggested_filename.endswith(".pdf")
    assert Path(download.value.path()).read_bytes() == minimal_pdf()
    assert_accessible(visitor)

    # --- A member of Bergen kommune reports taking it up -------------------------------
    adopter = page_for(people.bergen_member)
    adopter.goto(bank.url(f"/tiltak/{initiative.slug}/"))
    assert_accessible(adopter)
    adoption_form = adopter.locator("form.adoption-form")
    expect(adoption_form.get_by_label(nb("Your organisation"))).to_have_value(str(people.bergen.pk))
    adoption_form.get_by_label(field_label(AdoptionForm, "note")).fill(NOTE)
    with adopter.expect_navigation(url=bank.url(f"/tiltak/{initiative.slug}/")):
        adoption_form.get_by_role("button", name=nb("Our organisation has taken this up")).click()
    taken_up = adopter.locator(".adoption-list li")
    expect(taken_up).to_have_count(1)
    expect(taken_up).to_contain_text(people.bergen.name)
    expect(taken_up).to_contain_text(NOTE)
    assert_accessible(adopter)
    assert Adoption.objects.get(initiative=initiative).organisation == people.bergen

    # The public page shows it to anyone.
    visitor.reload()
    expect(visitor.locator(".adoption-list li")).to_contain_text(people.bergen.name)


def test_submission_form_rows_and_buttons_work_by_keyboard(bank, people, page_for):
    """Tab reaches "Add a document row" and "Submit for review", Enter presses them, and
    the error summary's links lead to the fields."""
    writer = page_for(people.oslo_member)
    writer.goto(bank.url("/del-tiltak/"))

    tab_to(writer, "#id_title")
    writer.keyboard.type(TITLE)
    tab_to(writer, "button[value=add-attachment]")
    add_row_focus_shown = writer.evaluate(FOCUS_SHOWN)
    with writer.expect_navigation():
        writer.keyboard.press("Enter")
    # A new row, nothing lost, no errors for adding a row, and the page at the rows.
    at_rows = writer.url.endswith("#attachments")
    rows_after_adding = writer.locator("#attachments-rows > fieldset").count()
    title_kept = writer.locator("#id_title").input_value()
    errors_after_adding = writer.locator(ERROR_SUMMARY).count()

    tab_to(writer, "button[value=submit]")
    submit_focus_shown = writer.evaluate(FOCUS_SHOWN)
    with writer.expect_navigation():
        writer.keyboard.press("Enter")
    after_submit = writer.url
    summary_focused = writer.evaluate(
        "s => document.activeElement === document.querySelector(s)", ERROR_SUMMARY
    )
    writer.keyboard.press("Tab")
    first_error_link = writer.evaluate("() => document.activeElement.hash")
    writer.keyboard.press("Enter")

    assert add_row_focus_shown, "focus not visible on “Add a document row”"
    assert submit_focus_shown, "focus not visible on “Submit for review”"
    assert (at_rows, rows_after_adding, title_kept, errors_after_adding) == (True, 2, TITLE, 0)
    assert summary_focused, f"focus did not move to the error summary on {after_submit}"
    assert first_error_link == "#id_summary"
    expect(writer.locator("#id_summary")).to_be_focused()
    assert not Initiative.objects.filter(title=TITLE).exists()
