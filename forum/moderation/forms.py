"""Moderation forms; labels are lazy so they translate per request."""
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..formtools import option, strip as _strip
from ..models import FLAG_REASONS
from .services import NOTE_MAX, REASON_MAX




FLAG_LABELS = {
    "spam": _l("Spam or advertising"),
    "offensive": _l("Offensive or hurtful"),
    "off_topic": _l("Off topic"),
    "privacy": _l("Personal data of someone else"),
    "other": _l("Something else"),
}
PIN_LABELS = {
    "": _l("Not pinned"),
    "theme": _l("Pinned at the top of its theme"),
    "site": _l("Pinned at the top of every list"),
}
SANCTION_LABELS = {
    "warn_user": _l("Warning (a private message)"),
    "silence_user": _l("Silence: can read, cannot post, until the date"),
    "suspend_user": _l("Suspend: cannot sign in, until the date (empty: until lifted)"),
}


class FlagForm(FlaskForm):
    reason = RadioField(_l("Why should a moderator look at this message?"),
                        choices=[option(r, FLAG_LABELS[r]) for r in FLAG_REASONS],
                        validators=[DataRequired(message=_l("Choose a reason."))])
    note = TextAreaField(_l("Explanation (required for 'something else')"), filters=[_strip],
                         validators=[Optional(), Length(max=NOTE_MAX, message=_l("Use at most %(max)d characters."))])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if ok and self.reason.data == "other" and not (self.note.data or "").strip():
            self.note.errors = list(self.note.errors) + [
                _l("Describe briefly what is wrong when you choose 'something else'.")]
            return False
        return ok


def _reason_field(label, required):
    validators = [Length(max=REASON_MAX, message=_l("Use at most %(max)d characters."))]
    validators.insert(0, DataRequired(message=_l("Give a reason: the member will see it.")) if required else Optional())
    return TextAreaField(label, filters=[_strip], validators=validators)


class HideForm(FlaskForm):
    reason = _reason_field(_l("Reason (the author sees it)"), required=True)


class ReasonForm(FlaskForm):
    """Actions whose reason is optional (restore, delete, dismiss, thread actions)."""
    reason = _reason_field(_l("Reason (optional)"), required=False)


class EditForm(FlaskForm):
    title = StringField(_l("Title"), filters=[_strip])
    body = TextAreaField(_l("Text"), validators=[DataRequired(message=_l("Write a text."))])
    reason = _reason_field(_l("Reason for the edit (for the audit log)"), required=False)


class PinForm(FlaskForm):
    level = SelectField(_l("Pinning"), choices=[option(k, v) for k, v in PIN_LABELS.items()])
    reason = _reason_field(_l("Reason (optional)"), required=False)


class MoveForm(FlaskForm):
    theme = SelectField(_l("New theme"), coerce=int, validate_choice=False,
                        validators=[DataRequired(message=_l("Choose a theme from the list."))])
    reason = _reason_field(_l("Reason (optional)"), required=False)


class MergeForm(FlaskForm):
    target = StringField(_l("Merge into topic (number or address)"), filters=[_strip],
                         validators=[DataRequired(message=_l("Enter the number or the address of an existing topic."))])
    reason = _reason_field(_l("Reason (optional)"), required=False)


class KindForm(FlaskForm):
    kind = SelectField(_l("Kind"), validate_choice=False)
    reason = _reason_field(_l("Reason (optional)"), required=False)


class SanctionForm(FlaskForm):
    action = RadioField(_l("Measure"), choices=[option(k, v) for k, v in SANCTION_LABELS.items()],
                        validators=[DataRequired(message=_l("Choose one of the listed measures."))])
    # A text field parsed here: WTForms' own DateField error message is not translated.
    until = StringField(_l("Until (date)"), filters=[_strip], render_kw={"type": "date"})
    reason = _reason_field(_l("Reason or message (the member sees it)"), required=True)

    def validate_until(self, field):
        self.until_date = None
        if field.data:
            try:
                self.until_date = date.fromisoformat(field.data)
            except ValueError:
                raise ValidationError(_l("Enter a date like 2025-03-31.")) from None
