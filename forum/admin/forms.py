"""Administration forms; labels are lazy so they translate per request."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..formtools import option, strip as _strip
from ..i18n import current_language
from ..models import MEMBERSHIP_STATUSES
from ..places import CODES, province_choices


VISIBILITY_CHOICES = [
    option("public", _l("Public: everyone can read it, also without signing in")),
    option("members", _l("Members only")),
]
POST_POLICY_CHOICES = [
    option("everyone", _l("Every member can start a topic")),
    option("moderators", _l("Only moderators can start a topic (members can reply)")),
]
ROLE_LABELS = {"member": _l("Member"), "moderator": _l("Moderator"), "admin": _l("Administrator")}
STATUS_LABELS = {
    "unconfirmed": _l("E-mail not confirmed"), "pending": _l("Waiting for approval"),
    "active": _l("Active"), "suspended": _l("Suspended"), "silenced": _l("Silenced"),
}
MEMBERSHIP_LABELS = {
    "pending": _l("Pending"), "active": _l("Active member"), "lapsed": _l("Lapsed"), "ended": _l("Ended"),
}
KIND_LABELS = {
    "adviesraad": _l("Advisory council (social domain)"), "clientenraad": _l("Clients' council"),
    "regional": _l("Regional council"), "other": _l("Other"),
}


class ThemeForm(FlaskForm):
    slug = StringField(_l("Address (slug)"), filters=[_strip], validators=[
        DataRequired(message=_l("Fill in an address.")), Length(max=80)])
    name_nl = StringField(_l("Name in Dutch"), filters=[_strip], validators=[
        DataRequired(message=_l("Fill in a name.")), Length(max=120)])
    name_fr = StringField(_l("Name in French"), filters=[_strip], validators=[
        DataRequired(message=_l("Fill in a name.")), Length(max=120)])
    description_nl = TextAreaField(_l("Description in Dutch"), filters=[_strip], validators=[Length(max=2000)])
    description_fr = TextAreaField(_l("Description in French"), filters=[_strip], validators=[Length(max=2000)])
    visibility = RadioField(_l("Who can read it"), choices=VISIBILITY_CHOICES, default="members",
                            validators=[DataRequired(message=_l("Choose one of the listed options."))])
    post_policy = RadioField(_l("Who can start topics"), choices=POST_POLICY_CHOICES, default="everyone",
                             validators=[DataRequired(message=_l("Choose one of the listed options."))])


class EditThemeForm(ThemeForm):
    slug = None  # fixed once created: thread and feed addresses contain it


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[option(k, v) for k, v in ROLE_LABELS.items()])


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[
        DataRequired(message=_l("Fill in a name.")), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[option(k, v) for k, v in KIND_LABELS.items()])
    municipality = StringField(_l("Municipality"), filters=[_strip], validators=[Length(max=120)])
    province = SelectField(_l("Province"))
    country = SelectField(_l("Country"), choices=[option("NL", _l("The Netherlands")), option("BE", _l("Belgium"))])
    language = SelectField(_l("Language"), choices=[option("nl", "Nederlands"), option("fr", "Français")])
    website = StringField(_l("Website"), filters=[_strip], validators=[Length(max=300)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [option("", _("Choose a province"))]
        choices += [option(code, label) for code, label in province_choices(current_language())]
        if self.province.data and self.province.data not in CODES:
            # A name an older version stored and the migration did not know: shown as it
            # is, so saving other details does not silently clear it.
            choices.append(option(self.province.data, self.province.data))
        self.province.choices = choices


class MembershipForm(FlaskForm):
    membership_status = SelectField(_l("Membership status"),
                                    choices=[option(s, MEMBERSHIP_LABELS[s]) for s in MEMBERSHIP_STATUSES])
    member_since = DateField(_l("Member since"), validators=[Optional()],
                             render_kw={"placeholder": "2025-01-31"})
    member_until = DateField(_l("Member until"), validators=[Optional()])
    reason = StringField(_l("Note for the audit log (optional)"), filters=[_strip], validators=[Length(max=500)])


class NewOrganisationForm(OrganisationForm, MembershipForm):
    reason = None


class MergeForm(FlaskForm):
    survivor = SelectField(_l("Merge into"), coerce=str,
                           validators=[DataRequired(message=_l("Choose the organisation that stays."))])
    reason = StringField(_l("Note for the audit log (optional)"), filters=[_strip], validators=[Length(max=500)])


class DecisionForm(FlaskForm):
    reason = TextAreaField(_l("Message to the member (optional)"), filters=[_strip], validators=[Length(max=1000)])


class OrganisationChangeForm(FlaskForm):
    organisation = SelectField(_l("Your new organisation"), coerce=str,
                               validators=[DataRequired(message=_l("Choose an organisation from the list."))])
