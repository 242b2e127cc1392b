"""The advice kind's fields: what a council advised, to whom, and what the municipality answered."""
import re
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from ..places import find_province
from ..threads.services import FIELD_MAX, ForumError

ADDRESSEES = ("college", "council", "college_communal", "cpas", "other")
STATUSES = ("awaiting", "adopted", "partly", "not_adopted", "no_answer")
# Answered statuses: a recorded answer (no reminder); "no_answer" is the council's own
# conclusion that the term passed, so it ends the reminders too.
ANSWERED = ("adopted", "partly", "not_adopted", "no_answer")
SUMMARY_MAX = 1000
# Fields the service takes; municipality and province become the thread's columns.
NAMES = ("requested", "sent_on", "addressee", "municipality", "province", "summary", "text_only",
         "answer_status", "answered_on", "follow_up")

ADDRESSEE_LABELS = {
    "college": _l("Municipal executive (college van B&W)"),
    "council": _l("Municipal council (gemeenteraad)"),
    "college_communal": _l("College of mayor and aldermen (collège communal)"),
    "cpas": _l("Public social welfare council (CPAS / OCMW)"),
    "other": _l("Other"),
}
STATUS_LABELS = {
    "awaiting": _l("Awaiting answer"),
    "adopted": _l("Adopted"),
    "partly": _l("Partly adopted"),
    "not_adopted": _l("Not adopted"),
    "no_answer": _l("No answer within the term"),
}


class AdviceError(ForumError):
    """A refused advice field or answer (its message goes next to the field)."""

    def messages(self):
        from flask_babel import gettext as _

        return dict(super().messages(), **{
            "municipality_required": _("Name the municipality the advice was sent to."),
            "province_required": _("Choose the province of the municipality."),
            "sent_on_required": _("Enter the date the advice was sent."),
            "sent_in_future": _("The date cannot be in the future."),
            "invalid_addressee": _("Choose who the advice was addressed to."),
            "summary_required": _("Summarise the advice in a few sentences."),
            "summary_too_long": _("The summary can be at most %(max)d characters.", max=SUMMARY_MAX),
            "invalid_status": _("Choose one of the listed answers."),
            "answered_before_sent": _("The answer cannot be dated before the advice was sent."),
            "document_required": _("Attach the advice document, or tick that the advice is only in the text."),
            "not_a_council": _("Only members of a council can post its advice."),
            "not_advice": _("This topic is not an advice."),
        })


def _text(value, max_length=FIELD_MAX, field=None):
    value = re.sub(r"[ \t]+", " ", str(value or "")).strip()
    if len(value) > max_length:
        raise AdviceError("summary_too_long" if field == "summary" else "field_too_long", field=field)
    return value


def parse_date(value, field):
    """A date from an ISO string or a date; None when empty. Raises AdviceError."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise AdviceError("invalid_date", field=field) from None


def parse_bool(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "requested")
    return bool(value)


def clean_answer(status, answered_on, sent_on=None, today=None):
    """(status, answered_on ISO or "") checked; the date only with an answered status."""
    status = (status or "awaiting").strip()
    if status not in STATUSES:
        raise AdviceError("invalid_status", field="answer_status", status=status)
    answered = parse_date(answered_on, "answered_on")
    if answered and answered > (today or date.today()):
        raise AdviceError("sent_in_future", field="answered_on")
    if answered and sent_on and answered < date.fromisoformat(sent_on):
        raise AdviceError("answered_before_sent", field="answered_on")
    if status == "awaiting":
        answered = None
    return status, answered.isoformat() if answered else ""


def clean(fields, today=None):
    """(columns, extra) of an advice's fields, validated: see forum.threads.services.clean_fields."""
    fields = fields or {}
    municipality = _text(fields.get("municipality"), 120, "municipality")
    if not municipality:
        raise AdviceError("municipality_required", field="municipality")
    province_text = _text(fields.get("province"), 120, "province")
    if not province_text:
        raise AdviceError("province_required", field="province")
    province = find_province(province_text)
    if province is None:
        raise AdviceError("invalid_province", field="province")
    sent_on = parse_date(fields.get("sent_on"), "sent_on")
    if sent_on is None:
        raise AdviceError("sent_on_required", field="sent_on")
    if sent_on > (today or date.today()):
        raise AdviceError("sent_in_future", field="sent_on")
    addressee = _text(fields.get("addressee"), 40, "addressee")
    if addressee not in ADDRESSEES:
        raise AdviceError("invalid_addressee", field="addressee")
    summary = _text(fields.get("summary"), SUMMARY_MAX, "summary")
    if not summary:
        raise AdviceError("summary_required", field="summary")
    status, answered_on = clean_answer(fields.get("answer_status"), fields.get("answered_on"),
                                       sent_on.isoformat(), today)
    extra = {
        "requested": parse_bool(fields.get("requested")), "sent_on": sent_on.isoformat(),
        "addressee": addressee, "summary": summary, "answer_status": status,
        "answered_on": answered_on, "follow_up": _text(fields.get("follow_up"), FIELD_MAX, "follow_up"),
    }
    if parse_bool(fields.get("text_only")):
        extra["text_only"] = True
    return {"municipality": municipality, "province": province, "closes_on": None}, extra
