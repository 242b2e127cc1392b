"""Forms for starting threads, replying and editing; kind-specific fields live in fieldsets."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..formtools import option as choice

from .services import BODY_MAX, FIELD_MAX, TITLE_MAX, TITLE_MIN


KIND_LABELS = {
    "question": _l("Question"),
    "practice": _l("Good practice"),
    "initiative": _l("Citizen initiative"),
    "vacancy": _l("Vacancy"),
    "advice": _l("Advice"),
    "discussion": _l("Discussion"),
    "announcement": _l("Announcement"),
    "event": _l("Event"),
}
KIND_HINTS = {
    "question": _l("Ask other councils; you can mark the reply that helped you as the answer."),
    "practice": _l("Share what your council or municipality did about a problem, and what came of it."),
    "initiative": _l("A citizen initiative in your municipality others can learn from."),
    "vacancy": _l("Your council is looking for new members."),
    "advice": _l("An advice your council gave its municipality, for the advice register."),
    "discussion": _l("Exchange views on a subject."),
    "announcement": _l("News from the umbrella organisation (moderators only)."),
}

# Form field name -> service field name, per kind (each kind has its own fieldset so that
# the page works without JavaScript: all fieldsets are shown, the chosen kind's one counts).
KIND_FORM_FIELDS = {
    "practice": {
        "practice_municipality": "municipality", "practice_problem": "problem",
        "practice_approach": "approach", "practice_result": "result", "practice_contact": "contact",
    },
    "initiative": {
        "initiative_municipality": "municipality", "initiative_province": "province",
        "initiative_initiator": "initiator", "initiative_website": "website",
        "initiative_contact": "contact",
    },
    "vacancy": {
        "vacancy_asked": "asked", "vacancy_closes_on": "closes_on", "vacancy_contact": "contact",
    },
    "advice": {
        "advice_requested": "requested", "advice_sent_on": "sent_on", "advice_addressee": "addressee",
        "advice_municipality": "municipality", "advice_province": "province",
        "advice_summary": "summary", "advice_text_only": "text_only",
    },
}
REQUIRED_KIND_FIELDS = {
    "practice": ("practice_municipality", "practice_problem", "practice_approach"),
    "initiative": ("initiative_municipality", "initiative_province", "initiative_initiator"),
    "vacancy": ("vacancy_asked", "vacancy_closes_on"),
    "advice": ("advice_requested", "advice_sent_on", "advice_addressee", "advice_municipality",
               "advice_province", "advice_summary"),
}

_body_length = Length(max=BODY_MAX)
_field_length = Length(max=FIELD_MAX)


class NewThreadForm(FlaskForm):
    theme = SelectField(_l("Theme"), coerce=int, validators=[InputRequired(_l("Choose a theme."))])
    kind = RadioField(_l("Kind of topic"), validators=[InputRequired(_l("Choose a kind."))])
    title = StringField(_l("Title"), validators=[
        DataRequired(_l("Give your topic a title.")), Length(min=TITLE_MIN, max=TITLE_MAX)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(_l("Write a text.")), _body_length])
    language = SelectField(_l("Language of your text"), choices=[choice("nl", "Nederlands"), choice("fr", "Français")])
    tags = StringField(_l("Tags"), validators=[Optional(), Length(max=200)])
    attachments = MultipleFileField(_l("Attach files"))  # checked by forum.attachments

    practice_municipality = StringField(_l("Municipality"), validators=[Optional(), Length(max=120)])
    practice_problem = TextAreaField(_l("The problem"), validators=[Optional(), _field_length])
    practice_approach = TextAreaField(_l("What was done"), validators=[Optional(), _field_length])
    practice_result = TextAreaField(_l("Result"), validators=[Optional(), _field_length])
    practice_contact = StringField(_l("Contact"), validators=[Optional(), Length(max=300)])

    initiative_municipality = StringField(_l("Municipality"), validators=[Optional(), Length(max=120)])
    initiative_province = SelectField(_l("Province"), validators=[Optional()])
    initiative_initiator = StringField(_l("Initiator"), validators=[Optional(), Length(max=300)])
    initiative_website = StringField(_l("Website"), validators=[Optional(), Length(max=300)])
    initiative_contact = StringField(_l("Contact"), validators=[Optional(), Length(max=300)])

    vacancy_asked = TextAreaField(_l("What we ask"), validators=[Optional(), _field_length])
    vacancy_closes_on = DateField(_l("Closing date"), validators=[Optional()],
                                  render_kw={"type": "date"})
    vacancy_contact = StringField(_l("Contact"), validators=[Optional(), Length(max=300)])

    advice_requested = RadioField(_l("Asked for or on your own initiative?"), validators=[Optional()], choices=[
        choice("requested", _l("Asked for by the municipality")), choice("own", _l("On our own initiative"))])
    advice_sent_on = DateField(_l("Date sent"), validators=[Optional()], render_kw={"type": "date"})
    advice_addressee = SelectField(_l("Addressed to"), validators=[Optional()])
    advice_municipality = StringField(_l("Municipality"), validators=[Optional(), Length(max=120)])
    advice_province = SelectField(_l("Province"), validators=[Optional()])
    advice_summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=1000)])
    advice_text_only = BooleanField(_l("The advice is only in the text above (no document)"))

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        # The chosen kind's fields are required; other fieldsets are ignored.
        for name in REQUIRED_KIND_FIELDS.get(self.kind.data, ()):
            field = getattr(self, name)
            if not field.data and not field.errors:
                field.errors = list(field.errors) + [_l("This field is required for this kind of topic.")]
                ok = False
        if self.kind.data == "advice" and not self.advice_text_only.data and not any(self.attachments.data or ()):
            self.attachments.errors = list(self.attachments.errors) + [
                _l("Attach the advice document, or tick that the advice is only in the text.")]
            ok = False
        return ok

    def kind_fields(self):
        """The service's `fields` dict for the chosen kind."""
        mapping = KIND_FORM_FIELDS.get(self.kind.data, {})
        values = {service: getattr(self, form_name).data for form_name, service in mapping.items()}
        if self.kind.data == "advice":
            values["requested"] = values["requested"] == "requested"
        return values

    def form_field_for(self, service_field):
        """The form field a service error about `service_field` belongs to."""
        if service_field in ("title", "body", "tags", "language", "kind", "theme"):
            return getattr(self, service_field)
        for form_name, service in KIND_FORM_FIELDS.get(self.kind.data, {}).items():
            if service == service_field:
                return getattr(self, form_name)
        return None


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your reply"), validators=[DataRequired(_l("Write a text.")), _body_length])
    reply_to = HiddenField()
    attachments = MultipleFileField(_l("Attach files"))


class EditPostForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Optional(), Length(min=TITLE_MIN, max=TITLE_MAX)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(_l("Write a text.")), _body_length])
    attachments = MultipleFileField(_l("Attach more files"))
