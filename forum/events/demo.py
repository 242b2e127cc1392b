"""Demo events: a general assembly, regional consultations in both countries, a webinar,
a training that is full with people on its waiting list, a council's monthly meeting (a
series with a summer break) and a past consultation with its minutes attached to its thread."""
from datetime import date, datetime, time, timedelta

from ..extensions import db
from ..models import Organisation, User
from . import services
from .models import Event

DESCRIPTION_ASSEMBLY = (
    "De jaarlijkse algemene ledenvergadering van de koepel.\n\n"
    "**Agenda**\n\n1. Jaarverslag en jaarrekening\n2. Begroting en contributie\n3. Verkiezing bestuursleden\n"
    "4. Rondvraag\n\n*L'assemblée générale se tient en néerlandais et en français (traduction simultanée).*"
)


def _at(days, hour, minute=0):
    return datetime.combine(date.today() + timedelta(days=days), time(hour, minute))


def second_tuesday(year, month):
    first = date(year, month, 1)
    return first + timedelta(days=(1 - first.weekday()) % 7 + 7)


def second_tuesdays(count):
    """The next `count` second Tuesdays of a month, the first at least three days away
    (the demo's council series; tests/test_events_repeat.py plans one too)."""
    today = date.today()
    year, month = today.year, today.month
    while second_tuesday(year, month) < today + timedelta(days=3):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return [second_tuesday(year + (month - 1 + n) // 12, (month - 1 + n) % 12 + 1) for n in range(count)]


def _council_series():
    """The next second Tuesday and ten months of meetings after it, with the July one skipped."""
    first, *later = second_tuesdays(11)
    summer = [day for day in later if day.month == 7] or later[5:6]
    return first, later[-1], summer


def _specs():
    first, last, summer = _council_series()
    return [
        dict(key="alv", organiser="mod", org=None, title="Algemene ledenvergadering / Assemblée générale",
             kind="general_assembly", language="both", timezone="Europe/Amsterdam", starts_at=_at(45, 13, 30),
             ends_at=_at(45, 17), venue="Stadsschouwburg", address="Lucasbolwerk 24", municipality="Utrecht",
             province="NL-UT", audience="members", capacity=120, registration_deadline=_at(40, 12),
             description=DESCRIPTION_ASSEMBLY),
        dict(key="regio-nl", organiser="marieke", org="asd-zwolle", title="Regio-overleg Oost-Nederland: de Wmo-cliëntervaring",
             kind="regional", language="nl", timezone="Europe/Amsterdam", starts_at=_at(18, 19, 30),
             ends_at=_at(18, 21, 30), venue="Stadkamer", address="Achter de Broeren 1", municipality="Zwolle",
             province="NL-OV", audience="members", capacity=40,
             description="Adviesraden uit Overijssel, Gelderland en Drenthe wisselen ervaringen uit over het "
                         "cliëntervaringsonderzoek Wmo. Neem gerust de vragenlijst van uw gemeente mee."),
        dict(key="regio-be", organiser="isabelle", org="ccas-gembloux", title="Concertation régionale de Wallonie",
             kind="regional", language="fr", timezone="Europe/Brussels", starts_at=_at(25, 18, 30),
             ends_at=_at(25, 21), venue="Maison de la Laïcité", address="Rue Entre-deux-Portes 2",
             municipality="Gembloux", province="BE-WNA", audience="public", capacity=None,
             description="Les conseils consultatifs de Namur et de Liège se retrouvent pour parler de la "
                         "précarité énergétique et de l'accès au CPAS."),
        dict(key="webinar", organiser="mod", org=None, title="Webinar: hoe schrijft u een ongevraagd advies?",
             kind="webinar", language="nl", timezone="Europe/Amsterdam", starts_at=_at(10, 12),
             ends_at=_at(10, 13), online_url="https://webinar.agora.example/ongevraagd-advies", online_private=True,
             audience="public", capacity=None,
             description="Een uur over opbouw, toon en timing van een ongevraagd advies, met voorbeelden uit "
                         "drie gemeenten. De link krijgt u na aanmelding."),
        dict(key="vorming", organiser="mod", org=None, title="Vorming: voorzitten van een adviesraad",
             kind="training", language="nl", timezone="Europe/Brussels", starts_at=_at(30, 9, 30),
             ends_at=_at(30, 16), venue="Vormingscentrum De Markt", address="Grote Markt 8", municipality="Lier",
             province="BE-VAN", audience="members", capacity=3,
             description="Een dag oefenen met vergaderen, samenvatten en het advies op papier krijgen. "
                         "Kleine groep: bij volzet komt u op de wachtlijst."),
        dict(key="raad", organiser="marieke", org="asd-zwolle", title="Vergadering Adviesraad Sociaal Domein Zwolle",
             kind="other", language="nl", timezone="Europe/Amsterdam",
             starts_at=datetime.combine(first, time(19, 30)), ends_at=datetime.combine(first, time(21, 30)),
             venue="Stadhuis, commissiekamer 2", address="Grote Kerkplein 15", municipality="Zwolle",
             province="NL-OV", audience="public", capacity=None, repeat="monthly_weekday", repeat_until=last,
             repeat_skip=" ".join(day.isoformat() for day in summer),
             description="De openbare vergadering van de adviesraad, elke tweede dinsdag van de maand "
                         "(niet in de zomer). Inwoners zijn welkom; de agenda staat een week vooraf in het topic."),
        dict(key="terugblik", organiser="mod", org=None, title="Regio-overleg Brabant: wachtlijsten jeugdzorg",
             kind="regional", language="nl", timezone="Europe/Amsterdam", starts_at=_at(-40, 19, 30),
             ends_at=_at(-40, 21, 30), venue="Het Klooster", address="Prins Hendrikstraat 12", municipality="Oss",
             province="NL-NB", audience="members", capacity=30,
             description="Adviesraden uit Noord-Brabant over de wachtlijsten in de jeugdzorg en wat raden "
                         "daarover kunnen adviseren.", now=_at(-60, 12)),
    ]


# Who registers for what; the training (capacity 3) fills up and two people wait.
REGISTRATIONS = {
    "alv": ["marieke", "henk", "els", "isabelle", "mathieu"],
    "regio-nl": ["marieke", "henk", "fatima"],
    "regio-be": ["isabelle", "mathieu", "nadia"],
    "webinar": ["joost", "fatima", "koen"],
    "vorming": ["els", "koen", "joost", "marieke", "nadia"],
    "raad": ["henk", "fatima"],
    "terugblik": [],
}
MINUTES = [
    "Verslag regio-overleg Noord-Brabant",
    "Onderwerp: wachtlijsten in de jeugdzorg",
    "",
    "Aanwezig: adviesraden van Oss, Uden, Tilburg en Helmond; de koepel.",
    "",
    "1. Elke raad ziet wachttijden van drie tot negen maanden voor specialistische jeugdhulp.",
    "2. Afgesproken: een gezamenlijk ongevraagd advies aan de regio over overbruggingszorg.",
    "3. Volgende keer: de ervaringen van ouders, met het ouderpanel van Tilburg.",
]


def add_demo_events():
    """Plan the demo events through the services, once."""
    if db.session.scalar(db.select(db.func.count(Event.id))):
        return
    people = {u.email.split("@")[0]: u for u in db.session.scalars(db.select(User))}
    people["mod"] = people.get("moderator")
    orgs = {o.slug: o for o in db.session.scalars(db.select(Organisation))}
    for spec in _specs():
        key, organiser, org = spec.pop("key"), people[spec.pop("organiser")], spec.pop("org")
        now = spec.pop("now", None)
        event = services.create_event(organiser, orgs[org] if org else None, spec, now=now, review=False)
        event_id = event.id
        for n, name in enumerate(REGISTRATIONS[key]):
            services.register(people[name], db.session.get(Event, event_id),
                              note="Ik kom met twee collega's." if n == 0 else "", listed=n % 2 == 0, notify=False)
        if key == "terugblik":
            _attach_minutes(db.session.get(Event, event_id), people["moderator"])


def _attach_minutes(event, author):
    """The past consultation's minutes as a PDF on a reply in its thread."""
    from ..attachments.pdfgen import make_pdf
    from ..attachments.services import add_attachments, check_file, extract_pending
    from ..threads import services as threads

    if event.thread is None:
        return
    post = threads.create_reply(author, event.thread, "Het verslag van het overleg staat in de bijlage. "
                                                      "Aanvullingen zijn welkom in dit topic.", check_abuse=False)
    pdf = make_pdf(MINUTES, title="Verslag regio-overleg Noord-Brabant")
    add_attachments(post, author.id, [check_file(pdf, "verslag-regio-overleg-brabant.pdf")])
    db.session.commit()
    extract_pending()  # the minutes are searchable from the start, like the other demo files
