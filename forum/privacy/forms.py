"""Privacy forms: deleting an account (by the member or by an administrator)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from auth.forms import option


def mode_choices(own=True):
    if own:
        return [
            option("anonymise", _l("Keep my messages, shown as written by a former member")),
            option("remove", _l("Remove my messages too (replies by others stay)")),
        ]
    return [
        option("anonymise", _l("Keep the messages, shown as written by a former member")),
        option("remove", _l("Remove the messages too (replies by others stay)")),
    ]


class ExportForm(FlaskForm):
    """Only the CSRF token: generating the ZIP is a POST."""


class DeleteAccountForm(FlaskForm):
    mode = RadioField(_l("What happens to your messages"), choices=mode_choices(),
                      validators=[InputRequired(message=_l("Choose what happens to your messages."))])
    password = PasswordField(_l("Your password"), validators=[
        DataRequired(message=_l("Enter your password to confirm."))])
    confirm = BooleanField(_l("I understand that my account cannot be restored."), validators=[
        DataRequired(message=_l("Tick this box to confirm."))])


class AdminDeleteAccountForm(FlaskForm):
    mode = RadioField(_l("What happens to the messages"), choices=mode_choices(own=False),
                      validators=[InputRequired(message=_l("Choose what happens to the messages."))])
    reason = TextAreaField(_l("Reason (for the audit log, e.g. the date of the request)"), validators=[
        DataRequired(message=_l("Give a reason.")), Length(max=1000)])
    confirm = BooleanField(_l("I understand that this account cannot be restored."), validators=[
        DataRequired(message=_l("Tick this box to confirm."))])
