"""The "Record the answer" form on an advice's page."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..formtools import option
from .fields import STATUS_LABELS


class AnswerForm(FlaskForm):
    answer_status = SelectField(_l("The municipality's answer"), validators=[InputRequired()],
                                choices=[option(k, v) for k, v in STATUS_LABELS.items()])
    answered_on = DateField(_l("Date of the answer"), validators=[Optional()], render_kw={"type": "date"})
    follow_up = TextAreaField(_l("What happened next"), validators=[Optional(), Length(max=4000)])
    attachments = MultipleFileField(_l("The answer document"))  # checked by forum.attachments

    def form_field_for(self, service_field):
        return getattr(self, service_field, None) if service_field in (
            "answer_status", "answered_on", "follow_up") else None
