"""Account journeys in a real browser: sign up, log out, log in, settings, profile."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import screenshot
from tests.support.journeys import PASSWORD, create_account, log_in, log_out, sign_up
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser


def test_sign_up_lands_logged_in_on_the_start_page(page: Page, live_server: LiveServer) -> None:
    account = sign_up(page)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("status")).to_contain_text(
        f"Welcome to Stub Collector, {account.username}"
    )
    expect(page.get_by_role("heading", name="No stubs for sale yet")).to_be_visible()
    screenshot(page, "home-logged-in-laptop")


def test_log_out_then_log_in_by_email(page: Page, live_server: LiveServer) -> None:
    account = sign_up(page)
    log_out(page)
    expect(page.get_by_role("status")).to_contain_text("You are logged out")
    assert page.request.get("/auth/me").status == 401

    log_in(page, account.email)

    expect(page.locator(".account-link")).to_contain_text(account.username)
    assert page.request.get("/auth/me").json()["user"]["username"] == account.username


def test_wrong_password_shows_one_vague_error_on_the_form(
    page: Page, live_server: LiveServer
) -> None:
    account = create_account(live_server)
    messages = []
    for login, password in ((account.username, "not-the-password"), ("nobody-here", PASSWORD)):
        page.goto("/login")
        page.get_by_label("Username or email").fill(login)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        alert = page.locator("form .alert--error")
        expect(alert).to_be_visible()
        messages.append(alert.inner_text())
        # Nothing points at one field: which part was wrong stays unsaid.
        expect(page.locator(".field__error")).to_have_count(0)
        expect(page.get_by_label("Username or email")).to_have_value(login)
        expect(page.get_by_label("Password")).to_have_value("")
    assert messages[0] == messages[1] == "Invalid username/email or password"
    screenshot(page, "login-wrong-password")
    assert page.request.get("/auth/me").status == 401


def test_sign_up_errors_appear_next_to_their_fields(page: Page, live_server: LiveServer) -> None:
    taken = create_account(live_server)
    page.goto("/signup")
    page.get_by_label("Username").fill(taken.username)
    page.get_by_label("Email").fill("someone-new@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()

    # The service checks the password before it looks for duplicates.
    expect(page.locator("#password-error")).to_have_text("Must be at least 10 characters")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#username-error")).to_have_text("Username is already taken")
    expect(page.get_by_label("Email")).to_have_value("someone-new@example.com")
    screenshot(page, "signup-errors")


def test_a_page_behind_login_sends_to_login_and_back(page: Page, live_server: LiveServer) -> None:
    account = create_account(live_server)
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Faccount$"))
    expect(page.get_by_role("status")).to_contain_text("Log in to see that page")

    page.get_by_label("Username or email").fill(account.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{live_server.url}/account")
    expect(page.get_by_role("heading", name="Account settings")).to_be_visible()


def test_edit_profile_and_see_it_on_the_public_profile(page: Page, live_server: LiveServer) -> None:
    account = sign_up(page)
    page.goto("/account")
    page.get_by_label("Display name").fill("Ada the Archivist")
    page.get_by_label("Location").fill("Chicago, IL")
    page.get_by_label("About you").fill("Blues and jazz stubs from the 1960s on.")
    page.get_by_role("button", name="Save profile").click()

    expect(page.get_by_role("status")).to_contain_text("Your profile is saved")
    expect(page.get_by_label("Display name")).to_have_value("Ada the Archivist")
    expect(page.locator(".account-link")).to_contain_text("Ada the Archivist")
    screenshot(page, "settings-laptop")

    page.get_by_role("link", name="View public profile").click()
    expect(page).to_have_url(f"{live_server.url}/users/{account.id}")
    expect(page.get_by_role("heading", name="Ada the Archivist", exact=True)).to_be_visible()
    expect(page.locator(".profile__handle")).to_have_text(f"@{account.username} · Chicago, IL")
    expect(page.locator(".profile__bio")).to_have_text("Blues and jazz stubs from the 1960s on.")
    expect(page.get_by_role("heading", name="Nothing on sale right now")).to_be_visible()
    screenshot(page, "profile-laptop")


def test_change_password_needs_the_current_one(page: Page, live_server: LiveServer) -> None:
    account = sign_up(page)
    page.goto("/account")
    form = page.locator("form", has=page.get_by_role("button", name="Change password"))
    form.get_by_label("Current password").fill("not-my-password")
    form.get_by_label("New password", exact=True).fill("a-brand-new-secret")
    form.get_by_label("Repeat the new password").fill("a-brand-new-secret")
    form.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-current_password-error")).to_have_text(
        "Is required and must be correct"
    )

    form = page.locator("form", has=page.get_by_role("button", name="Change password"))
    form.get_by_label("Current password").fill(PASSWORD)
    form.get_by_label("New password", exact=True).fill("a-brand-new-secret")
    form.get_by_label("Repeat the new password").fill("a-brand-new-secret")
    form.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")
    log_out(page)
    log_in(page, account.username, "a-brand-new-secret")


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    page: Page, live_server: LiveServer
) -> None:
    sign_up(page)
    page.goto("/account")
    profile_form = page.locator("form", has=page.get_by_role("button", name="Save profile"))
    profile_form.locator("input[name='profile-csrf_token']").evaluate("input => input.remove()")
    page.get_by_label("Display name").fill("Forged Name")
    with page.expect_response(lambda response: response.url.endswith("/account/profile")) as sent:
        page.get_by_role("button", name="Save profile").click()

    assert sent.value.status == 400
    expect(page.get_by_role("heading", name="That request could not be handled")).to_be_visible()
    expect(page.get_by_text("nothing was changed")).to_be_visible()
    screenshot(page, "csrf-refused")
    page.goto("/account")
    expect(page.get_by_label("Display name")).to_have_value("")
