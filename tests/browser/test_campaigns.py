"""Campaigns in a real browser: the campaign page (as the public and as the network's
coordinator) and the form to start one, with no WCAG 2.1 A/AA violation (axe-core) in
Bokmål and English, nothing scrolling sideways at 320 px, and the way from the page to the
pre-filled submission form by keyboard."""

import json
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from initiatives.models import Initiative
from networks.models import Campaign, CampaignAddressee, Membership
from tests.browser.helpers import FOCUS_SHOWN, axe_report, tab_to, wcag_violations
from tests.browser.test_small_screen import too_wide
from tests.factories import goal, make_initiative, make_membership, make_network, make_organisation

pytestmark = pytest.mark.browser


@pytest.fixture
def campaign(bank, people) -> Campaign:
    """Oslo kommune's network asks four organisations; Bergen kommune has shared."""
    network = make_network(name="Klimanettverket", slug="klimanettverket", coordinator=people.oslo)
    make_membership(network=network, organisation=people.oslo, role=Membership.Role.COORDINATOR)
    make_membership(network=network, organisation=people.bergen)
    campaign = Campaign.objects.create(
        title="Del en suksesshistorie",
        slug="del-en-suksesshistorie",
        text="Fortell om noe dere er stolte av i eget bærekraftsarbeid.",
        deadline=timezone.localdate() + timedelta(days=60),
        network=network,
    )
    campaign.goals.add(goal(11))
    others = [make_organisation(name=f"Kommune med et langt navn nummer {n}") for n in (1, 2)]
    for organisation in [people.oslo, people.bergen, *others]:
        CampaignAddressee.objects.create(campaign=campaign, organisation=organisation)
    answer = make_initiative(
        status=Initiative.Status.PUBLISHED,
        lead_organisation=people.bergen,
        title="Ombruk av møbler i Bergen",
    )
    answer.campaigns.add(campaign)
    return campaign


def path(campaign: Campaign) -> str:
    return f"/kampanjer/{campaign.slug}/"


def check(page) -> None:
    violations = wcag_violations(page)
    if violations:
        pytest.fail(f"{page.url}\n{axe_report(violations)}", pytrace=False)


@pytest.mark.parametrize("language", ["nb", "en"])
def test_campaign_page_for_the_public_has_no_wcag_violations(page, bank, campaign, language):
    response = page.goto(bank.url(path(campaign), language))

    check(page)
    assert response.status == 200
    tiles = page.locator(".tile-grid__tile")
    expect(tiles).to_have_count(1)  # the public sees who has shared, not who has not
    expect(tiles.first).to_contain_text("Bergen kommune")
    assert too_wide(page) == []


@pytest.mark.parametrize("language", ["nb", "en"])
def test_campaign_page_for_its_coordinator_has_no_wcag_violations(
    page_for, bank, people, campaign, language
):
    coordinator = page_for(people.oslo_member)

    coordinator.goto(bank.url(path(campaign), language))

    check(coordinator)
    expect(coordinator.locator(".tile-grid__tile")).to_have_count(4)
    expect(coordinator.locator(".tile-grid__tile--done")).to_have_count(1)
    assert too_wide(coordinator) == []


@pytest.mark.parametrize("language", ["nb", "en"])
def test_start_form_has_no_wcag_violations_empty_and_with_errors(
    page_for, bank, people, campaign, language
):
    coordinator = page_for(people.oslo_member)
    coordinator.goto(bank.url(f"/nettverk/{campaign.network.slug}/kampanjer/ny/", language))

    check(coordinator)
    assert too_wide(coordinator) == []
    coordinator.locator("form.page-form__form button[type=submit]").click()
    expect(coordinator.locator(".ds-error-summary")).to_be_visible()
    check(coordinator)
    assert too_wide(coordinator) == []


def test_coordinator_starts_a_campaign_from_the_network_page(page_for, bank, people, campaign):
    coordinator = page_for(people.oslo_member)
    coordinator.goto(bank.url(f"/nettverk/{campaign.network.slug}/", "en"))

    coordinator.get_by_role("link", name="Start a campaign").click()
    coordinator.get_by_label("Title").fill("Bibliotekene deler")
    coordinator.get_by_label("What you ask for").fill("Del det beste fra biblioteket.")
    coordinator.get_by_label("Deadline").fill(
        (timezone.localdate() + timedelta(days=30)).isoformat()
    )
    coordinator.get_by_label("Every active member organisation of the network").check()
    coordinator.get_by_role("button", name="Start the campaign and send the invitations").click()

    expect(coordinator.locator("h1")).to_have_text("Bibliotekene deler")
    expect(coordinator.locator(".campaign__count")).to_have_text("0 of 2 have shared")
    expect(coordinator.locator(".tile-grid__tile")).to_have_count(2)


def test_share_button_by_keyboard_leads_to_the_prefilled_form(page_for, bank, people, campaign):
    member = page_for(people.bergen_member)
    member.goto(bank.url(path(campaign), "en"))

    tab_to(member, ".campaign__share a")
    assert member.evaluate(FOCUS_SHOWN)
    member.keyboard.press("Enter")

    expect(member).to_have_url(bank.url(f"/del-tiltak/?campaign={campaign.slug}", "en"))
    expect(member.locator(".ds-alert").first).to_contain_text(
        "You are answering the campaign “Del en suksesshistorie”"
    )
    expect(member.locator(f'input[name="goals"][value="{goal(11).pk}"]')).to_be_checked()


def test_a_tile_is_reached_by_keyboard(page, bank, campaign, people):
    page.goto(bank.url(path(campaign), "en"))

    tab_to(page, f'.tile-grid__link[href$="/{people.bergen.slug}/"]')

    assert page.evaluate(FOCUS_SHOWN)
    page.keyboard.press("Enter")
    expect(page).to_have_url(bank.url(f"/organisasjoner/{people.bergen.slug}/", "en"))


@pytest.mark.parametrize("language", ["nb", "en"])
def test_campaign_list_has_no_wcag_violations(page, bank, campaign, language):
    page.goto(bank.url("/kampanjer/", language))

    check(page)
    expect(page.locator(".campaign-card")).to_have_count(1)
    assert too_wide(page) == []


def test_campaign_pages_are_valid_html(page, page_for, bank, people, campaign, tmp_path):
    # Until the lead adds these pages to test_html_valid.py's lists: the same checker.
    from tests.browser.test_html_valid import vnu_command

    command = vnu_command()
    coordinator = page_for(people.oslo_member)
    files = {}
    for viewer, address in [
        (page, path(campaign)),
        (page, "/kampanjer/"),
        (coordinator, path(campaign)),
        (coordinator, f"/nettverk/{campaign.network.slug}/kampanjer/ny/"),
        (coordinator, f"/kampanjer/{campaign.slug}/endre/"),
        (coordinator, f"/del-tiltak/?campaign={campaign.slug}"),
    ]:
        for language in ("nb", "en"):
            url = bank.url(address, language)
            html = [viewer.goto(url).text()]
            if "/ny/" in address or "/endre/" in address:
                with viewer.expect_navigation() as navigation:
                    viewer.locator("form.page-form__form button[type=submit]").click()
                html.append(navigation.value.text())
            for text in html:
                file = tmp_path / f"{len(files):03}.html"
                file.write_text(text, encoding="utf-8")
                files[file.name] = url

    result = subprocess.run(
        [*command, str(tmp_path)], capture_output=True, text=True, timeout=600, check=False
    )
    errors = [
        f"{files.get(message.get('url', '').rpartition('/')[2])} line {message.get('lastLine')}: "
        f"{message['message']}"
        for message in json.loads(result.stderr)["messages"]
        if message["type"] in ("error", "non-document-error")
    ]
    assert len(files) == 16
    assert errors == []


def test_start_form_is_filled_in_by_keyboard(page_for, bank, people, campaign):
    coordinator = page_for(people.oslo_member)
    coordinator.goto(bank.url(f"/nettverk/{campaign.network.slug}/kampanjer/ny/", "en"))

    tab_to(coordinator, "#id_title")
    coordinator.keyboard.type("Tastaturkampanjen")
    tab_to(coordinator, "#id_text")
    coordinator.keyboard.type("Skrevet uten mus.")
    coordinator.locator("#id_deadline").fill((timezone.localdate() + timedelta(days=9)).isoformat())
    tab_to(coordinator, "#id_all_members")
    coordinator.keyboard.press("Space")
    tab_to(coordinator, "form.page-form__form button[type=submit]")
    assert coordinator.evaluate(FOCUS_SHOWN)
    coordinator.keyboard.press("Enter")

    expect(coordinator.locator("h1")).to_have_text("Tastaturkampanjen")
