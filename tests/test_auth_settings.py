"""Settings: profile and language, password change, e-mail change (with confirmation by mail)."""
import pytest

from tests.conftest import PASSWORD, login
from tests.test_auth import cheap_hashing  # noqa: F401  (autouse: fast password hashing)
from tests.test_auth import NEW_PASSWORD, get_user, mail_link, shows


@pytest.mark.parametrize("path", ["/nl/settings", "/nl/settings/password", "/nl/settings/email"])
def test_settings_need_sign_in_and_are_not_cached(client, make_user, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/nl/login")
    login(client, make_user())
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_profile_is_saved(app, client, make_user):
    user = make_user(notify_mode="weekly")
    login(client, user)
    html = client.get("/nl/settings").get_data(as_text=True)
    assert f'value="{user.name}"' in html
    assert '<input checked id="notify_mode-2" name="notify_mode" type="radio" value="weekly">' in html
    response = client.post_form("/nl/settings", {"name": "Joke van Dam", "bio": "Secretaris Wmo-raad, 8 jaar.",
                                                 "locale": "nl", "notify_mode": "daily"})
    assert response.status_code == 302 and response.headers["Location"] == "/nl/settings"
    saved = get_user(app, user.email)
    assert (saved.name, saved.bio, saved.notify_mode, saved.locale) == (
        "Joke van Dam", "Secretaris Wmo-raad, 8 jaar.", "daily", "nl")
    assert shows(app, client.get("/nl/settings").get_data(as_text=True), "Your settings are saved.")


def test_profile_errors_keep_what_was_typed(app, client, make_user):
    user = make_user()
    login(client, user)
    response = client.post_form("/nl/settings", {"name": "J", "bio": "Mijn rol in de raad", "locale": "nl",
                                                 "notify_mode": "hourly"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="name-error"' in html and 'id="notify_mode-error"' in html
    assert 'value="J"' in html and "Mijn rol in de raad</textarea>" in html
    assert get_user(app, user.email).name == user.name


def test_choosing_french_switches_the_interface(app, client, make_user):
    user = make_user(locale="nl")
    login(client, user)
    response = client.post_form("/nl/settings", {"name": user.name, "bio": "", "locale": "fr",
                                                 "notify_mode": "never"})
    assert response.status_code == 302 and response.headers["Location"] == "/fr/settings"
    assert get_user(app, user.email).locale == "fr"
    assert '<html lang="fr">' in client.get("/fr/settings").get_data(as_text=True)
    assert client.get("/", headers={"Accept-Language": "nl"}).headers["Location"] == "/fr/"


def test_change_password_keeps_this_session_and_ends_the_others(app, client, mail, make_user):
    user = make_user()
    login(client, user)
    phone = app.test_client()
    login(phone, user)

    response = client.post_form("/nl/settings/password", {"current_password": "fout", "password": NEW_PASSWORD,
                                                           "password_confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert shows(app, response.get_data(as_text=True), "This is not your current password.")
    response = client.post_form("/nl/settings/password", {"current_password": PASSWORD, "password": "azerty123",
                                                           "password_confirm": "azerty123"})
    assert shows(app, response.get_data(as_text=True), "This password is too common and easy to guess. "
                 "Choose a less common one, for example a short sentence.")
    response = client.post_form("/nl/settings/password", {"current_password": PASSWORD, "password": user.email,
                                                           "password_confirm": user.email})
    assert shows(app, response.get_data(as_text=True),
                 "Your password may not be the same as your e-mail address or your name.")
    assert get_user(app, user.email).check_password(PASSWORD)

    response = client.post_form("/nl/settings/password", {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                                           "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert get_user(app, user.email).check_password(NEW_PASSWORD)
    assert client.get("/nl/settings/password").status_code == 200  # still signed in here
    assert phone.get("/nl/settings").status_code == 302             # signed out there
    assert shows(app, mail.body(mail.last(user.email)), "The password of your Agora account has just been changed. "
                 "You have been signed out on your other devices.")


def test_change_password_keeps_remember_me_working(app, client, make_user):
    user = make_user()
    client.post_form("/nl/login", {"email": user.email, "password": PASSWORD, "remember": "y"})
    old_remember = client.get_cookie("remember_token").value
    client.post_form("/nl/settings/password", {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                               "password_confirm": NEW_PASSWORD})
    new_remember = client.get_cookie("remember_token").value
    assert new_remember != old_remember
    for value, works in ((old_remember, False), (new_remember, True)):
        browser = app.test_client()
        browser.set_cookie("remember_token", value)
        assert (browser.get("/nl/settings").status_code == 200) is works


def test_guessing_the_current_password_is_rate_limited(app, client, make_user):
    user = make_user()
    login(client, user)
    for _ in range(10):
        client.post_form("/nl/settings/password", {"current_password": "gok", "password": NEW_PASSWORD,
                                                   "password_confirm": NEW_PASSWORD})
    response = client.post_form("/nl/settings/password", {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                                           "password_confirm": NEW_PASSWORD})
    assert response.status_code == 429
    assert get_user(app, user.email).check_password(PASSWORD)


def test_change_email_needs_confirmation_from_the_new_address(app, client, mail, make_user):
    user = make_user(email="oud@zeist.nl")
    login(client, user)
    response = client.post_form("/nl/settings/email", {"new_email": "nieuw@zeist.nl", "password": "fout"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert shows(app, html, "This is not your current password.") and 'value="nieuw@zeist.nl"' in html
    response = client.post_form("/nl/settings/email", {"new_email": "OUD@zeist.nl", "password": PASSWORD})
    assert shows(app, response.get_data(as_text=True), "This is already your e-mail address.")

    response = client.post_form("/nl/settings/email", {"new_email": "Nieuw@Zeist.nl", "password": PASSWORD})
    assert response.status_code == 302
    pending = get_user(app, "oud@zeist.nl")
    assert pending.new_email == "nieuw@zeist.nl"
    assert shows(app, client.get("/nl/settings/email").get_data(as_text=True),
                 "Waiting for confirmation: %(email)s. Click the link in the mail we sent to that address.",
                 email="nieuw@zeist.nl")
    notice = mail.last("oud@zeist.nl")
    assert "nieuw@zeist.nl" in mail.body(notice)
    link = mail_link(mail, "nieuw@zeist.nl", "/settings/email/")

    # The link works from any browser, even a signed-out one.
    other = app.test_client()
    response = other.get(link)
    assert response.status_code == 302 and response.headers["Location"] == "/nl/login"
    assert get_user(app, "oud@zeist.nl") is None
    changed = get_user(app, "nieuw@zeist.nl")
    assert changed.id == user.id and changed.new_email is None
    login(other, "nieuw@zeist.nl")
    assert other.get(link).status_code == 400  # used


def test_change_email_to_a_taken_address_reveals_nothing(app, client, mail, make_user):
    user = make_user()
    taken = make_user(email="bezet@example.org")
    login(client, user)
    response = client.post_form("/nl/settings/email", {"new_email": "bezet@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert shows(app, client.get(response.headers["Location"]).get_data(as_text=True),
                 "We sent a link to %(email)s. Your new address counts once you follow that link.",
                 email="bezet@example.org")
    msg = mail.last(taken.email)
    assert shows(app, mail.body(msg), "Someone wanted to use this e-mail address for an Agora account. This address "
                 "already has its own account, so nothing has been changed.")
    assert not any("/settings/email/" in link for link in mail.links(msg))
    # Parked as for a free address (the page must not tell), but no link exists to confirm it.
    assert get_user(app, user.email).new_email == "bezet@example.org"
    assert mail.to(user.email) == []


def test_email_change_link_dies_when_the_address_changed_meanwhile(app, client, mail, make_user):
    user = make_user(email="een@example.org")
    login(client, user)
    client.post_form("/nl/settings/email", {"new_email": "twee@example.org", "password": PASSWORD})
    first = mail_link(mail, "twee@example.org", "/settings/email/")
    client.post_form("/nl/settings/email", {"new_email": "drie@example.org", "password": PASSWORD})
    assert client.get(first).status_code == 400  # replaced by the newer request
    assert get_user(app, "een@example.org").new_email == "drie@example.org"


def test_expired_email_change_link(app, client, mail, make_user):
    user = make_user()
    login(client, user)
    client.post_form("/nl/settings/email", {"new_email": "later@example.org", "password": PASSWORD})
    link = mail_link(mail, "later@example.org", "/settings/email/")
    app.config["CONFIRM_TOKEN_MAX_AGE"] = -1
    response = client.get(link)
    assert response.status_code == 410 and shows(app, response.get_data(as_text=True), "This link has expired")
    assert get_user(app, user.email) is not None


def test_email_change_requests_are_rate_limited(app, client, mail, make_user):
    app.config["RATELIMIT_EMAIL_CHANGE"] = (2, 3600)
    user = make_user()
    login(client, user)
    for n in range(2):
        assert client.post_form("/nl/settings/email", {"new_email": f"nieuw{n}@example.org",
                                                        "password": PASSWORD}).status_code == 302
    response = client.post_form("/nl/settings/email", {"new_email": "nieuw9@example.org", "password": PASSWORD})
    assert response.status_code == 429
    assert 'value="nieuw9@example.org"' in response.get_data(as_text=True)
    assert mail.to("nieuw9@example.org") == []
    assert get_user(app, user.email).new_email == "nieuw1@example.org"
