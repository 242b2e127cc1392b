"""The "Record the answer" form on an advice's page."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..formtools import option
from .fields import STATUS_LABELS, SUMMARY_MAX


class AnswerForm(FlaskForm):
    answer_status = SelectField(_l("The municipality's answer"), validators=[InputRequired()],
                                choices=[option(k, v) for k, v in STATUS_LABELS.items()])
    answered_on = DateField(_l("Date of the answer"), validators=[Optional()], render_kw={"type": "date"})
    follow_up = TextAreaField(_l("What happened next"), validators=[Optional(), Length(max=4000)])
    attachments = MultipleFileField(_l("The answer document"))  # checked by forum.attachments

    def form_field_for(self, service_field):
        return getattr(self, service_field, None) if service_field in (
            "answer_status", "answered_on", "follow_up") else None


class EditAdviceForm(FlaskForm):
    """The advice's own fields, as posted (the answer has its own form). Choices of addressee
    and province are set by the view, in the page's language."""
    requested = RadioField(_l("Asked for or on your own initiative?"), validators=[InputRequired()], choices=[
        option("requested", _l("Asked for by the municipality")), option("own", _l("On our own initiative"))])
    sent_on = DateField(_l("Date sent"), validators=[InputRequired()], render_kw={"type": "date"})
    addressee = SelectField(_l("Addressed to"), validators=[InputRequired()])
    municipality = StringField(_l("Municipality"), validators=[DataRequired(), Length(max=120)])
    province = SelectField(_l("Province"), validators=[InputRequired()])
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), Length(max=SUMMARY_MAX)])

    def form_field_for(self, service_field):
        return getattr(self, service_field, None) if service_field in (
            "requested", "sent_on", "addressee", "municipality", "province", "summary") else None
