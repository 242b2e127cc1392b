"""Account forms; labels are lazy so they translate per request."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, EmailField, HiddenField, PasswordField, RadioField, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Optional, ValidationError

from forum.formtools import option, strip as _strip
from forum.models import COUNTRIES, LANGUAGES, NOTIFY_MODES

from .passwords import StrongPassword





def _email_field(label=None):
    return EmailField(label or _l("E-mail address"), filters=[_strip], validators=[
        DataRequired(message=_l("Enter your e-mail address.")),
        Length(max=254, message=_l("This e-mail address is too long.")),
        Email(message=_l("This is not a valid e-mail address. Check for typing errors, e.g. name@gemeente.nl.")),
    ])


# Each language is named in itself: a French speaker must recognise "Français".
LANGUAGE_CHOICES = [option("nl", "Nederlands"), option("fr", "Français")]
COUNTRY_CHOICES = [option("NL", _l("The Netherlands")), option("BE", _l("Belgium"))]
NOTIFY_CHOICES = [
    option("immediate", _l("Right away, one mail per message")),
    option("daily", _l("Once a day, a summary")),
    option("weekly", _l("Once a week, a summary")),
    option("never", _l("Never (I look on the site myself)")),
]


def _new_password(label, confirm_label, email_field=None, name_field=None):
    password = PasswordField(label, validators=[
        DataRequired(message=_l("Choose a password.")),
        StrongPassword(email_field=email_field, name_field=name_field),
    ])
    confirm = PasswordField(confirm_label, validators=[
        DataRequired(message=_l("Type the password a second time.")),
        EqualTo("password", message=_l("The two passwords are not the same.")),
    ])
    return password, confirm


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), filters=[_strip], validators=[
        DataRequired(message=_l("Enter your e-mail address.")),
        Length(max=254, message=_l("This e-mail address is too long.")),
    ])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(message=_l("Enter your password.")),
        Length(max=1024, message=_l("This password is too long.")),
    ])
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()


class FinishSignInForm(FlaskForm):
    """The button behind a mailed sign-in link (the token is in the URL)."""


class RegisterForm(FlaskForm):
    organisation = SelectField(_l("Your council"), choices=[], validate_choice=False)
    org_not_listed = BooleanField(_l("My council is not in the list"))
    org_name = StringField(_l("Name of your council"), filters=[_strip], validators=[
        Length(max=200, message=_l("Use at most %(max)d characters.", max=200)),
    ])
    org_municipality = StringField(_l("Municipality"), filters=[_strip], validators=[
        Length(max=120, message=_l("Use at most %(max)d characters.", max=120)),
    ])
    org_country = SelectField(_l("Country"), choices=COUNTRY_CHOICES, default="NL")

    email = _email_field()
    name = StringField(_l("Your name"), filters=[_strip], validators=[
        DataRequired(message=_l("Enter your name.")),
        Length(min=2, max=80, message=_l("Use between %(min)d and %(max)d characters.", min=2, max=80)),
    ])
    locale = RadioField(_l("Language"), choices=LANGUAGE_CHOICES, default="nl")
    password, password_confirm = _new_password(
        _l("Password"), _l("Password again"), email_field="email", name_field="name")
    accept_terms = BooleanField(validators=[
        InputRequired(message=_l("You can only become a member if you accept the terms of use and the privacy statement.")),
    ])

    def __init__(self, *args, organisation_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation_ids = set(organisation_ids)

    def validate_organisation(self, field):
        if self.org_not_listed.data:
            return
        if not field.data:
            raise ValidationError(_l("Choose your council from the list, or tick 'My council is not in the list'."))
        if not field.data.isdigit() or int(field.data) not in self.organisation_ids:
            raise ValidationError(_l("This council cannot be chosen. Choose another one from the list."))

    def validate_org_name(self, field):
        if self.org_not_listed.data and len(field.data or "") < 3:
            raise ValidationError(_l("Enter the full name of your council."))

    def validate_org_municipality(self, field):
        if self.org_not_listed.data and len(field.data or "") < 2:
            raise ValidationError(_l("Enter the municipality of your council."))

    def validate_org_country(self, field):
        if field.data not in COUNTRIES:
            raise ValidationError(_l("Choose the Netherlands or Belgium."))

    def validate_locale(self, field):
        if field.data not in LANGUAGES:
            raise ValidationError(_l("Choose Dutch or French."))


class EmailForm(FlaskForm):
    """One e-mail address: resend confirmation, request a password reset."""

    email = _email_field()


class ResendTokenForm(FlaskForm):
    """The one-button resend on the 'link expired' page: the old link says who it is."""

    token = HiddenField(validators=[DataRequired()])


class ResetPasswordForm(FlaskForm):
    password, password_confirm = _new_password(_l("New password"), _l("New password again"))


class CodeForm(FlaskForm):
    """A code from the authenticator app, or a recovery code."""

    code = StringField(_l("Code"), filters=[_strip], validators=[
        DataRequired(message=_l("Enter the code.")),
        Length(max=20, message=_l("This code is too long.")),
    ])


class PasswordOffForm(FlaskForm):
    """Sign in by mailed link only: the password is removed, proven with it once more."""

    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(message=_l("Enter your current password.")),
        Length(max=1024, message=_l("This password is too long.")),
    ])


class StartTotpForm(FlaskForm):
    """The button that starts setting up an authenticator app."""


class PasskeyNameForm(FlaskForm):
    name = StringField(_l("Name of the passkey"), filters=[_strip], validators=[
        Length(max=60, message=_l("Keep the name under 60 characters.")),
    ])


class RenamePasskeyForm(FlaskForm):
    name = StringField(_l("New name"), filters=[_strip], validators=[
        DataRequired(message=_l("Give the passkey a name, e.g. 'Laptop at home'.")),
        Length(max=60, message=_l("Keep the name under 60 characters.")),
    ])


class RemovePasskeyForm(FlaskForm):
    pass


def rename_passkey_form(passkey_id, name=None):
    """The rename form of one passkey on the security page; its fields carry the passkey's id
    (several on one page). No CSRF field of its own: the app-wide check covers the POST
    (the template adds the token)."""
    kwargs = {"formdata": None, "data": {"name": name}} if name is not None else {}
    return RenamePasskeyForm(prefix=f"p{passkey_id}", meta={"csrf": False}, **kwargs)


class ResetSecondFactorForm(FlaskForm):
    """An admin's button: remove a member's second factor."""


class ProfileForm(FlaskForm):
    name = StringField(_l("Your name"), filters=[_strip], validators=[
        DataRequired(message=_l("Enter your name.")),
        Length(min=2, max=80, message=_l("Use between %(min)d and %(max)d characters.", min=2, max=80)),
    ])
    bio = TextAreaField(_l("About you"), filters=[_strip], validators=[
        Optional(),
        Length(max=2000, message=_l("Use at most %(max)d characters.", max=2000)),
    ])
    locale = RadioField(_l("Language of the site and of your mails"), choices=LANGUAGE_CHOICES)
    notify_mode = RadioField(_l("Mail me about new replies and messages"), choices=NOTIFY_CHOICES)

    def validate_locale(self, field):
        if field.data not in LANGUAGES:
            raise ValidationError(_l("Choose Dutch or French."))

    def validate_notify_mode(self, field):
        if field.data not in NOTIFY_MODES:
            raise ValidationError(_l("Choose one of the options."))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(message=_l("Enter your current password.")),
        Length(max=1024, message=_l("This password is too long.")),
    ])
    password, password_confirm = _new_password(_l("New password"), _l("New password again"))


class ChangeEmailForm(FlaskForm):
    new_email = _email_field(_l("New e-mail address"))
    password = PasswordField(_l("Your password"), validators=[
        DataRequired(message=_l("Enter your password.")),
        Length(max=1024, message=_l("This password is too long.")),
    ])


class ApproveForm(FlaskForm):
    admit_organisation = BooleanField(_l("Also admit the organisation as a member"))


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason (sent to the person)"), filters=[_strip], validators=[
        DataRequired(message=_l("Give a reason: the person receives it by mail.")),
        Length(max=2000, message=_l("Use at most %(max)d characters.", max=2000)),
    ])

