"""Forms for planning an event and registering for one."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DateTimeLocalField, IntegerField, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import Optional

from ..formtools import option as choice
from ..formtools import strip

KIND_LABELS = {
    "general_assembly": _l("General assembly"),
    "regional": _l("Regional consultation"),
    "training": _l("Training"),
    "webinar": _l("Webinar"),
    "information": _l("Information evening"),
    "other": _l("Other meeting"),
}
LANGUAGE_LABELS = {"nl": _l("Dutch"), "fr": _l("French"), "both": _l("Dutch and French")}
AUDIENCE_LABELS = {"public": _l("Everyone"), "members": _l("Members only"),
                   "provinces": _l("Members of councils in the provinces chosen below")}
ZONE_LABELS = {"Europe/Amsterdam": _l("Dutch time (Europe/Amsterdam)"),
               "Europe/Brussels": _l("Belgian time (Europe/Brussels)")}
REPEAT_LABELS = {"": _l("Does not repeat"), "weekly": _l("Every week"),
                 "monthly_weekday": _l("Every month on the same weekday (such as the second Tuesday)"),
                 "monthly_date": _l("Every month on the same date")}
UMBRELLA = "umbrella"
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class EventForm(FlaskForm):
    organisation = SelectField(_l("Organiser"))
    title = StringField(_l("Title"), filters=[strip])
    kind = SelectField(_l("Kind of meeting"), choices=[choice(k, v) for k, v in KIND_LABELS.items()])
    theme = SelectField(_l("Theme (optional)"), validate_choice=False)
    language = SelectField(_l("Language"), choices=[choice(k, v) for k, v in LANGUAGE_LABELS.items()])
    starts_at = DateTimeLocalField(_l("Starts"), format=LOCAL_FORMATS, validators=[Optional()])
    ends_at = DateTimeLocalField(_l("Ends"), format=LOCAL_FORMATS, validators=[Optional()])
    timezone = SelectField(_l("Time zone"), choices=[choice(k, v) for k, v in ZONE_LABELS.items()])
    all_day = BooleanField(_l("All day (only the dates count)"))
    repeat = SelectField(_l("Repeats"), choices=[choice(k, v) for k, v in REPEAT_LABELS.items()], validate_choice=False)
    repeat_until = DateField(_l("Last meeting on"), validators=[Optional()])
    repeat_skip = StringField(_l("Skip these dates"), filters=[strip])
    venue = StringField(_l("Venue"), filters=[strip])
    address = StringField(_l("Address"), filters=[strip])
    municipality = StringField(_l("Municipality"), filters=[strip])
    province = SelectField(_l("Province"))
    online_url = StringField(_l("Online link"), filters=[strip])
    online_private = BooleanField(_l("Show the link only to people who registered"))
    audience = SelectField(_l("Who may see it"), choices=[choice(k, v) for k, v in AUDIENCE_LABELS.items()])
    audience_provinces = SelectMultipleField(_l("Provinces (for an event of one or more provinces)"),
                                             validate_choice=False)
    capacity = IntegerField(_l("Number of seats"), validators=[Optional()])
    registration_deadline = DateTimeLocalField(_l("Registration closes"), format=LOCAL_FORMATS,
                                               validators=[Optional()])
    description = TextAreaField(_l("Description"), filters=[strip])

    def service_data(self):
        """The fields as the service checks them."""
        names = ("title", "kind", "language", "starts_at", "ends_at", "timezone", "all_day", "venue", "address",
                 "municipality", "province", "online_url", "online_private", "audience", "audience_provinces", "capacity",
                 "registration_deadline", "description", "repeat", "repeat_until", "repeat_skip", "theme")
        return {name: getattr(self, name).data for name in names}


class RegistrationForm(FlaskForm):
    note = TextAreaField(_l("Note to the organiser (optional)"), filters=[strip])
    listed = BooleanField(_l("Show my name on the list of participants"))
