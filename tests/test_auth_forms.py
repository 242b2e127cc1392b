"""Registration form: every error is shown next to its field, typed text is kept, nothing is written."""
import re

import pytest

from auth.passwords import is_common, password_problem
from forum.models import Organisation, User
from tests.conftest import PASSWORD
from tests.test_auth import cheap_hashing  # noqa: F401  (autouse: fast password hashing)
from tests.test_auth import count_rows, get_user, registration, shows


@pytest.fixture
def org(make_org):
    return make_org(name="Adviesraad Sociaal Domein Zeist", municipality="Zeist")


def _error(html, field):
    match = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    return match.group(1) if match else None


SAME_AS_YOU = "Your password may not be the same as your e-mail address or your name."
TOO_COMMON = ("This password is too common and easy to guess. Choose a less common one, "
              "for example a short sentence.")
CASES = [
    # (overrides, field with the error, message id, its values)
    ({"email": ""}, "email", "Enter your e-mail address.", {}),
    ({"email": "joke@"}, "email", "This is not a valid e-mail address. Check for typing errors, e.g. name@gemeente.nl.", {}),
    ({"name": ""}, "name", "Enter your name.", {}),
    ({"password": "kort1!", "password_confirm": "kort1!"}, "password", "Use at least %(num)d characters.", {"num": 8}),
    ({"password": "x" * 60 + "Ab1!" * 20, "password_confirm": "x" * 60 + "Ab1!" * 20}, "password",
     "Use at most %(num)d characters.", {"num": 128}),
    ({"password": "wachtwoord", "password_confirm": "wachtwoord"}, "password", TOO_COMMON, {}),
    ({"password": "Welkom01", "password_confirm": "Welkom01"}, "password", TOO_COMMON, {}),
    ({"password": "motdepasse", "password_confirm": "motdepasse"}, "password", TOO_COMMON, {}),
    ({"password": "azerty123", "password_confirm": "azerty123"}, "password", TOO_COMMON, {}),
    ({"password": "Wachtwoord2024!", "password_confirm": "Wachtwoord2024!"}, "password", TOO_COMMON, {}),
    ({"password": "P@ssw0rd", "password_confirm": "P@ssw0rd"}, "password", TOO_COMMON, {}),
    ({"password": "12345678", "password_confirm": "12345678"}, "password", TOO_COMMON, {}),
    ({"password": "secretaris@adviesraad-zeist.nl", "password_confirm": "secretaris@adviesraad-zeist.nl"},
     "password", SAME_AS_YOU, {}),
    ({"password": "Joke de Vries", "password_confirm": "Joke de Vries"}, "password", SAME_AS_YOU, {}),
    ({"password_confirm": PASSWORD + "x"}, "password_confirm", "The two passwords are not the same.", {}),
    ({"accept_terms": None}, "accept_terms",
     "You can only become a member if you accept the terms of use and the privacy statement.", {}),
    ({"organisation": None}, "organisation",
     "Choose your council from the list, or tick 'My council is not in the list'.", {}),
    ({"organisation": "99999"}, "organisation", "This council cannot be chosen. Choose another one from the list.", {}),
    ({"organisation": None, "org_not_listed": "y", "org_municipality": "Zeist"}, "org_name",
     "Enter the full name of your council.", {}),
    ({"organisation": None, "org_not_listed": "y", "org_name": "Wmo-raad Zeist"}, "org_municipality",
     "Enter the municipality of your council.", {}),
    ({"organisation": None, "org_not_listed": "y", "org_name": "Wmo-raad Zeist", "org_municipality": "Zeist",
      "org_country": "DE"}, "org_country", None, {}),
]


@pytest.mark.parametrize("overrides,field,message,values", CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_registration_errors_next_to_the_field_and_nothing_written(app, client, mail, org, overrides, field,
                                                                    message, values):
    orgs_before = count_rows(app, Organisation)
    data = registration(org, **overrides)
    data = {k: v for k, v in data.items() if v is not None}
    response = client.post_form("/nl/register", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    error = _error(html, field)
    assert error is not None, f"no error next to {field}"
    if message:
        assert shows(app, error, message, **values)
    assert 'aria-invalid="true"' in html
    # What was typed is still there, except passwords.
    if data.get("email"):
        assert f'value="{data["email"]}"' in html
    if data.get("name"):
        assert f'value="{data["name"]}"' in html
    if data.get("org_name"):
        assert f'value="{data["org_name"]}"' in html
    for name in ("password", "password_confirm"):  # passwords are never sent back
        assert re.search(rf'<input[^>]*name="{name}"[^>]*value=""', html)
    assert count_rows(app, User) == 0
    assert count_rows(app, Organisation) == orgs_before
    assert mail.to("adviesraad-zeist.nl") == []


def test_long_passphrases_are_welcome(app, client, mail, org):
    passphrase = "de koffie in het gemeentehuis van Zeist is altijd lauw maar de mensen zijn warm " * 2
    passphrase = passphrase[:128]
    response = client.post_form("/nl/register", registration(org, password=passphrase, password_confirm=passphrase))
    assert response.status_code == 302
    assert get_user(app, "secretaris@adviesraad-zeist.nl").check_password(passphrase)


def test_selected_organisation_survives_an_error(client, org, make_org):
    other = make_org(name="Cliëntenraad Utrecht", municipality="Utrecht")
    response = client.post_form("/nl/register", registration(other, password_confirm="anders-dan-eerst"))
    assert f'<option selected value="{other.id}">' in response.get_data(as_text=True)


def test_existing_address_gets_the_same_answer_and_its_owner_a_notice(app, client, mail, org, make_user):
    owner = make_user(email="joke@zeist.nl", name="Joke Bestaand")
    response = client.post_form("/nl/register", registration(org, email="JOKE@Zeist.NL", name="Iemand Anders"))
    # Same redirect and page as a new account: the form does not tell who has an account.
    assert response.status_code == 302 and response.headers["Location"] == "/nl/register/check-your-mail"
    assert shows(app, client.get(response.headers["Location"]).get_data(as_text=True), "Check your mail")
    assert count_rows(app, User) == 1
    assert get_user(app, "joke@zeist.nl").name == "Joke Bestaand"
    msg = mail.last(owner.email)
    body = mail.body(msg)
    assert shows(app, body, "Someone tried to register on Agora with your e-mail address. You already have an "
                 "account with this address, so nothing has been changed.")
    assert not any("/confirm/" in link for link in mail.links(msg))
    assert any("/nl/reset" in link for link in mail.links(msg))


def test_organisation_list_offers_active_and_pending_but_not_ended(client, make_org):
    active = make_org(name="Adviesraad Alfa")
    pending = make_org(name="Adviesraad Beta", membership_status="pending")
    ended = make_org(name="Adviesraad Gamma", membership_status="ended")
    html = client.get("/nl/register").get_data(as_text=True)
    assert f'value="{active.id}"' in html and f'value="{pending.id}"' in html
    assert f'value="{ended.id}"' not in html


def test_organisation_search_works_without_javascript(client, make_org):
    liege = make_org(name="Conseil consultatif des aînés", municipality="Liège", country="BE")
    zeist = make_org(name="Adviesraad Sociaal Domein Zeist", municipality="Zeist")
    html = client.get("/nl/register?org_q=liege").get_data(as_text=True)  # no accents typed
    assert f'value="{liege.id}"' in html and f'value="{zeist.id}"' not in html
    assert 'data-filter-select="organisation"' in html
    assert 'action="/nl/register?org_q=liege"' in html  # an error keeps the short list
    html = client.get("/nl/register?org_q=domein+zeist").get_data(as_text=True)
    assert f'value="{zeist.id}"' in html and f'value="{liege.id}"' not in html


def test_registration_rejects_an_ended_organisation(app, client, make_org):
    ended = make_org(membership_status="ended")
    response = client.post_form("/nl/register", registration(ended))
    assert response.status_code == 400
    assert shows(app, _error(response.get_data(as_text=True), "organisation"),
                 "This council cannot be chosen. Choose another one from the list.")


def test_register_page_links_terms_and_privacy(client):
    html = client.get("/fr/register").get_data(as_text=True)
    assert 'href="/fr/terms"' in html and 'href="/fr/privacy"' in html
    assert '<input checked id="locale-1" name="locale" type="radio" value="fr">' in html


def test_registration_rate_limit_per_ip(app, client, mail, org):
    app.config["RATELIMIT_REGISTER_IP"] = (2, 3600)
    for n in range(2):
        assert client.post_form("/nl/register", registration(org, email=f"lid{n}@zeist.nl")).status_code == 302
    response = client.post_form("/nl/register", registration(org, email="lid9@zeist.nl"))
    assert response.status_code == 429
    assert shows(app, response.get_data(as_text=True),
                 "Too many registrations from your network. Wait an hour and try again.")
    assert 'value="lid9@zeist.nl"' in response.get_data(as_text=True)
    assert get_user(app, "lid9@zeist.nl") is None
    # Another network is not affected.
    other = client.post_form("/nl/register", registration(org, email="lid8@zeist.nl"),
                             environ_base={"REMOTE_ADDR": "192.0.2.8"})
    assert other.status_code == 302


def test_register_without_csrf_token_is_a_400_page(app, client, org):
    response = client.post("/nl/register", data=registration(org))
    assert response.status_code == 400
    assert "<html" in response.get_data(as_text=True)
    assert count_rows(app, User) == 0


@pytest.mark.parametrize("password", ["wachtwoord", "Welkom01", "welkom123!", "MotDePasse", "azerty123", "Azerty2025",
                                      "Soleil123", "Feyenoord1908", "qwertyuiop", "aaaaaaaa", "Liberté1"])
def test_common_passwords_are_refused(app, password):
    with app.test_request_context():
        assert password_problem(password) is not None


@pytest.mark.parametrize("password", [PASSWORD, "fietsen langs de Vecht", "Zeist-Wmo-raad-2024-notulen",
                                      "correct horse battery staple"])
def test_reasonable_passwords_pass(app, password):
    with app.test_request_context():
        assert password_problem(password, email="joke@zeist.nl", name="Joke") is None
        assert not is_common(password)
