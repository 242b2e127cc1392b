"""Realistic demo content for `make run` (invented councils, people and texts)."""
from datetime import date, timedelta

import click
from flask import current_app

from . import outbox
from .admin.themes import ensure_default_themes
from .config import DEMO_PASSWORD  # noqa: F401  (the default; tests sign in with it)
from .extensions import db
from .models import Notification, Organisation, Post, PostRevision, Theme, Thread, User, utcnow


ORGANISATIONS = (
    # slug, name, kind, municipality, province (ISO code), country, language, years a member
    ("koepel-bureau", "Koepel Adviesraden — bureau", "other", "Utrecht", "NL-UT", "NL", "nl", 8),
    ("asd-zwolle", "Adviesraad Sociaal Domein Zwolle", "adviesraad", "Zwolle", "NL-OV", "NL", "nl", 6),
    ("clientenraad-veendam", "Cliëntenraad Werk en Inkomen Veendam", "clientenraad", "Veendam", "NL-GR", "NL", "nl", 4),
    ("participatieraad-nieuwegein", "Participatieraad Nieuwegein", "adviesraad", "Nieuwegein", "NL-UT", "NL", "nl", 3),
    ("asd-oss", "Adviesraad Sociaal Domein Oss", "adviesraad", "Oss", "NL-NB", "NL", "nl", 5),
    ("adviesraad-welzijn-lier", "Adviesraad Welzijn Lier", "adviesraad", "Lier", "BE-VAN", "BE", "nl", 2),
    ("adviesraad-sociaal-beleid-genk", "Adviesraad Sociaal Beleid Genk", "adviesraad", "Genk", "BE-VLI", "BE", "nl", 3),
    ("ccas-gembloux", "Conseil consultatif de l'action sociale de Gembloux", "adviesraad", "Gembloux", "BE-WNA", "BE", "fr", 2),
    ("conseil-solidarite-seraing", "Conseil consultatif de la solidarité de Seraing", "adviesraad", "Seraing", "BE-WLG", "BE", "fr", 1),
)

PEOPLE = (
    # key, name, e-mail, organisation slug, role, locale
    ("admin", "Anouk Verbeek", "admin@agora.example", "koepel-bureau", "admin", "nl"),
    ("mod", "Sofie Claes", "moderator@agora.example", "koepel-bureau", "moderator", "nl"),
    ("marieke", "Marieke de Vries", "marieke@agora.example", "asd-zwolle", "member", "nl"),
    ("henk", "Henk Bosma", "henk@agora.example", "clientenraad-veendam", "member", "nl"),
    ("fatima", "Fatima El Amrani", "fatima@agora.example", "participatieraad-nieuwegein", "member", "nl"),
    ("joost", "Joost van Dam", "joost@agora.example", "asd-oss", "member", "nl"),
    ("els", "Els Peeters", "els@agora.example", "adviesraad-welzijn-lier", "member", "nl"),
    ("koen", "Koen Janssens", "koen@agora.example", "adviesraad-sociaal-beleid-genk", "member", "nl"),
    ("isabelle", "Isabelle Lemaire", "isabelle@agora.example", "ccas-gembloux", "member", "fr"),
    ("mathieu", "Mathieu Renard", "mathieu@agora.example", "conseil-solidarite-seraing", "member", "fr"),
    ("nadia", "Nadia Benali", "nadia@agora.example", "conseil-solidarite-seraing", "member", "fr"),
)


def _thread(spec, people, themes):
    """Create one demo thread with its replies through the services, then date it back."""
    from .threads import services

    author = people[spec["author"]]
    thread = services.create_thread(
        author, themes[spec["theme"]], spec["kind"], spec["title"], spec["body"],
        language=spec.get("language", author.locale), tags=spec.get("tags", ()),
        fields=spec.get("fields"), check_abuse=False,
    )
    posts = {}
    for i, reply in enumerate(spec.get("replies", ()), 1):
        reply_to = posts.get(reply.get("reply_to"))
        posts[i] = services.create_reply(people[reply["author"]], thread, reply["body"], reply_to=reply_to,
                                         check_abuse=False)
    if spec.get("edit"):
        # An edited post, so the "edited" marker and its history can be seen.
        opening = db.session.scalar(db.select(Post).where(Post.thread_id == thread.id, Post.number == 1))
        services.edit_post(author, opening, opening.body_source + spec["edit"], check_abuse=False)
    # Spread the conversation over the past weeks so lists and "ago" look lived-in.
    start = utcnow() - timedelta(days=spec["days_ago"], hours=spec.get("hour", 3))
    for post in db.session.scalars(db.select(Post).where(Post.thread_id == thread.id)):
        post.created_at = post.updated_at = start + timedelta(hours=7 * (post.number - 1))
        if post.edited_at:
            post.edited_at = post.created_at + timedelta(days=1)
            for revision in db.session.scalars(db.select(PostRevision).where(PostRevision.post_id == post.id)):
                revision.created_at = post.edited_at
    thread.created_at = start
    services.refresh_thread_stats(thread)
    db.session.commit()
    for i in spec.get("accepted", ()):
        services.accept_answer(author, thread, posts[i])
    for i, names in spec.get("thanks", {}).items():
        target = posts[i] if i else db.session.scalar(
            db.select(Post).where(Post.thread_id == thread.id, Post.number == 1))
        for name in names:
            services.thank_post(people[name], target)
    for key, value in spec.get("after", {}).items():
        setattr(thread, key, value)
    # Notifications, thanks and answers happened some hours after the post they are about.
    for n in db.session.scalars(db.select(Notification).where(Notification.thread_id == thread.id)):
        post = db.session.get(Post, n.post_id) if n.post_id else None
        if post is not None:
            n.created_at = min(post.created_at + timedelta(hours=2), utcnow())
    db.session.commit()
    return thread


def _threads(today):
    """The demo conversations, written for Agora (not taken from any real forum)."""
    return [
        dict(
            theme="nieuws-van-de-koepel", kind="announcement", author="mod", days_ago=30,
            title="Welkom op Agora, het forum van de aangesloten raden",
            body=(
                "Beste leden,\n\nVanaf vandaag kunnen alle aangesloten adviesraden en cliëntenraden hier "
                "vragen stellen, ervaringen delen en vacatures plaatsen. Schrijf gerust in het Nederlands "
                "of in het Frans: de zoekfunctie vindt beide.\n\n"
                "- Stel een **vraag** en markeer het antwoord dat u verder hielp.\n"
                "- Deel een **goede praktijk** uit uw gemeente.\n"
                "- Zet een **burgerinitiatief** op de kaart.\n\n"
                "Vragen over het forum? Reageer hieronder."
            ),
            tags=("forum",), after={"pinned": "site"},
            replies=[dict(author="isabelle", body="Merci ! Nous sommes heureux de pouvoir échanger avec les conseils flamands et néerlandais.")],
            thanks={0: ["marieke", "isabelle", "koen"]},
        ),
        dict(
            theme="schulden", kind="question", author="henk", days_ago=21,
            title="Hoe betrekken jullie ervaringsdeskundigen bij het advies over schuldhulp?",
            body=(
                "Onze gemeente herschrijft het beleidsplan schuldhulpverlening. Wij willen in ons advies "
                "meer laten horen van mensen die zelf schulden hebben gehad, maar het lukt ons niet goed "
                "om hen te bereiken.\n\nHoe pakken andere raden dat aan? Werken jullie met een panel, "
                "met interviews, of via de schuldhulporganisatie?"
            ),
            tags=("schuldhulpverlening", "ervaringsdeskundigheid"),
            replies=[
                dict(author="marieke", body=(
                    "Wij hebben goede ervaringen met een **klankbordgroep van zes mensen**, geworven via het "
                    "maatschappelijk werk en de voedselbank. Ze krijgen een vrijwilligersvergoeding en we "
                    "vergaderen in de buurthuiskamer, niet op het gemeentehuis: dat verlaagt de drempel.\n\n"
                    "Belangrijk: vraag hen vooraf wat ze *niet* willen delen, en koppel terug wat er met hun "
                    "inbreng gebeurd is.")),
                dict(author="els", body="Bij ons in Lier werkt het OCMW met ervaringsdeskundigen in armoede; zij schuiven twee keer per jaar aan bij de adviesraad. Misschien heeft jullie gemeente ook zo'n functie?"),
                dict(author="henk", reply_to=1, body="Dank je @MariekedeVries, die vergoeding en de locatie zijn goede tips. Mogen we jullie wervingstekst eens zien?"),
                dict(author="marieke", body="Zeker, ik stuur hem je via de mail. Hij staat ook in onze praktijk over begrijpelijke brieven."),
            ],
            accepted=[1], thanks={1: ["henk", "joost", "els"], 2: ["henk"]},
        ),
        dict(
            theme="werk-en-inkomen", kind="question", author="fatima", days_ago=2,
            title="Ervaringen met parttime werken vanuit de bijstand?",
            body=(
                "Onze wethouder wil mensen in de bijstand vaker laten starten met een parttime baan, met "
                "een deel van de uitkering erbij. Wij horen zorgen over wisselende inkomsten en "
                "terugvorderingen. Heeft iemand hier al een advies over geschreven?"
            ),
            tags=("participatiewet", "bijstand"),
        ),
        dict(
            theme="armoede-en-minimabeleid", kind="question", author="isabelle", language="fr", days_ago=12,
            title="Comment évaluer l'accès réel aux aides communales ?",
            body=(
                "Notre commune propose plusieurs aides (chèques sport, intervention dans les frais "
                "scolaires), mais nous avons l'impression qu'elles sont peu demandées. Comment d'autres "
                "conseils ont-ils mesuré le non-recours ? Avez-vous travaillé avec le CPAS ?"
            ),
            tags=("non-recours", "cpas"),
            replies=[
                dict(author="mathieu", body=(
                    "À Seraing, nous avons comparé le nombre de bénéficiaires potentiels (données du CPAS) "
                    "au nombre de demandes. L'écart était énorme pour l'aide scolaire. Nous avons ensuite "
                    "organisé deux soirées avec des parents pour comprendre les obstacles : formulaires trop "
                    "longs, peur d'être jugé.")),
                dict(author="koen", body="In Genk hebben we hetzelfde gedaan met het UiTPAS-kansentarief. Een automatische toekenning via het OCMW maakte het grootste verschil."),
            ],
            accepted=[1], thanks={1: ["isabelle", "nadia"], 2: ["isabelle"]},
        ),
        dict(
            theme="werking-van-de-adviesraad", kind="question", author="mathieu", language="fr", days_ago=6,
            title="Réunions hybrides : quel matériel utilisez-vous ?",
            body=(
                "Nous voulons permettre à des membres plus jeunes ou moins mobiles de suivre nos réunions "
                "à distance. Quel matériel (micro, caméra) recommandez-vous pour une salle de quinze "
                "personnes ?"
            ),
            tags=("hybride", "réunions"),
            replies=[
                dict(author="nadia", body="Un micro de conférence omnidirectionnel change tout. La caméra de l'ordinateur portable suffit si on la place au bout de la table."),
                dict(author="els", body="Wij gebruiken een eenvoudige conferentiespeaker en spreken af dat iedereen zijn naam zegt voor hij begint. De voorzitter checkt regelmatig of de mensen online iets willen zeggen."),
            ],
        ),
        dict(
            theme="goede-praktijken", kind="practice", author="marieke", days_ago=26,
            title="Gemeentebrieven samen met inwoners herschreven",
            body=(
                "Veel inwoners begrepen de brieven over de bijzondere bijstand niet. Wij hebben als "
                "adviesraad voorgesteld om de brieven samen met inwoners te herschrijven. De gemeente "
                "ging akkoord en zette er een communicatieadviseur op.\n\nDe nieuwe brieven zijn korter, "
                "beginnen met wat de lezer moet doen en hebben een telefoonnummer van een echte persoon."
            ),
            tags=("begrijpelijke taal", "bijzondere bijstand"),
            fields=dict(
                municipality="Zwolle", problem="Brieven over bijzondere bijstand waren onduidelijk; veel bezwaren en telefoontjes.",
                approach="Vier sessies met acht inwoners en een communicatieadviseur; de adviesraad zat voor.",
                result="Twaalf standaardbrieven herschreven; een derde minder telefoontjes in het eerste halfjaar.",
                contact="Secretariaat van de adviesraad via het forum",
            ),
            replies=[
                dict(author="joost", body="Mooi voorbeeld! Hebben jullie de inwoners een vergoeding gegeven?"),
                dict(author="marieke", body="Ja, een cadeaubon per sessie en de reiskosten. Dat werd erg gewaardeerd."),
            ],
            thanks={0: ["henk", "joost", "fatima", "els"]},
        ),
        dict(
            theme="goede-praktijken", kind="practice", author="isabelle", language="fr", days_ago=15,
            title="Une permanence sociale itinérante dans les villages",
            body=(
                "Dans une commune rurale, beaucoup d'habitants ne se déplacent pas jusqu'au CPAS. Notre "
                "conseil a proposé une permanence mobile qui passe une demi-journée par mois dans chaque "
                "village, dans la salle paroissiale ou l'école."
            ),
            tags=("ruralité", "accès aux droits"),
            fields=dict(
                municipality="Gembloux", problem="Habitants des villages éloignés des services sociaux.",
                approach="Permanence mensuelle d'une assistante sociale et d'un membre du conseil dans chaque village.",
                result="Une quarantaine de nouvelles demandes d'aide en un an, surtout des personnes âgées.",
                contact="Le secrétariat du conseil",
            ),
            replies=[dict(author="koen", body="Interessant voor onze deelgemeenten. Hoe hebben jullie de permanentie bekendgemaakt?"),
                     dict(author="isabelle", body="Par le bulletin communal, des affiches à la boulangerie et surtout le bouche-à-oreille.")],
            thanks={0: ["koen", "mathieu"]},
        ),
        dict(
            theme="jeugd", kind="practice", author="els", days_ago=9,
            title="Een jongerenpanel naast de adviesraad",
            edit="\n\nUpdate: het panel komt nu ook samen in de bibliotheek, op vraag van de jongeren zelf.",
            body="Jongeren kwamen nooit naar onze vergaderingen. Nu vragen we hun mening in een eigen panel, op hun tijdstip en met pizza.",
            tags=("jongeren", "participatie"),
            fields=dict(
                municipality="Lier", problem="Geen jongeren in de adviesraad en weinig zicht op hun noden.",
                approach="Panel van vijftien jongeren dat drie keer per jaar samenkomt in het jeugdhuis; twee raadsleden luisteren mee.",
                result="Twee adviezen over jeugdhulp en mobiliteit met concrete voorstellen van jongeren.",
            ),
        ),
        dict(
            theme="participatie-en-burgerinitiatieven", kind="initiative", author="joost", days_ago=18,
            title="Administratiecafé in de bibliotheek",
            body="Elke dinsdagmiddag helpen vrijwilligers inwoners met brieven, formulieren en digitale zaken. De adviesraad vroeg de gemeente om een vaste plek en een kleine subsidie.",
            tags=("administratie", "vrijwilligers"),
            fields=dict(municipality="Oss", province="NL-NB", initiator="Vrijwilligers van de bibliotheek en de seniorenvereniging",
                        website="https://administratiecafe.example.org", contact="Via de bibliotheek"),
            replies=[dict(author="fatima", body="Zoiets willen wij ook in Nieuwegein. Hoe vinden jullie vrijwilligers met genoeg kennis van toeslagen?")],
        ),
        dict(
            theme="participatie-en-burgerinitiatieven", kind="initiative", author="koen", days_ago=11,
            title="Buurtmaaltijden voor alleenstaande ouderen",
            body="Een groep buren kookt twee keer per maand voor ouderen die alleen wonen. De maaltijd kost vijf euro; wie minder kan betalen, betaalt minder.",
            tags=("eenzaamheid", "ouderen"),
            fields=dict(municipality="Genk", province="BE-VLI", initiator="Buurtcomité Kolderbos"),
        ),
        dict(
            theme="participatie-en-burgerinitiatieven", kind="initiative", author="nadia", language="fr", days_ago=7,
            title="Une épicerie solidaire tenue par des bénévoles",
            body="Des habitants ont ouvert une épicerie où les familles orientées par le CPAS achètent à prix réduit. Notre conseil a soutenu la demande de local auprès de la commune.",
            tags=("aide alimentaire",),
            fields=dict(municipality="Seraing", province="BE-WLG", initiator="Collectif d'habitants du quartier",
                        website="https://epicerie-solidaire.example.org"),
            thanks={0: ["isabelle"]},
        ),
        dict(
            theme="participatie-en-burgerinitiatieven", kind="initiative", author="henk", days_ago=24,
            title="Moestuin bij de voedselbank",
            body="Vrijwilligers en klanten van de voedselbank kweken samen groenten op een stuk grond van de gemeente. Verse groenten voor de pakketten, en een plek om elkaar te ontmoeten.",
            tags=("voedselbank",),
            fields=dict(municipality="Veendam", province="NL-GR", initiator="Stichting Voedselbank en buurtbewoners"),
        ),
        dict(
            theme="participatie-en-burgerinitiatieven", kind="initiative", author="isabelle", language="fr", days_ago=4,
            title="Potager collectif et ateliers de cuisine",
            body="Un potager partagé derrière la maison de village, avec des ateliers de cuisine pour apprendre à préparer des repas bon marché.",
            fields=dict(municipality="Gembloux", province="BE-WNA", initiator="Maison de village et CPAS"),
        ),
        dict(
            theme="werking-van-de-adviesraad", kind="vacancy", author="marieke", days_ago=5,
            title="Adviesraad Sociaal Domein Zwolle zoekt twee nieuwe leden",
            body="Denk je graag mee over zorg, werk en inkomen in Zwolle? Wij zoeken twee leden, bij voorkeur met eigen ervaring met de Wmo of jeugdhulp. Je krijgt een vrijwilligersvergoeding en een inwerkprogramma.",
            tags=("werving",),
            fields=dict(asked="Ongeveer acht uur per maand; affiniteit met het sociaal domein; geen politieke functie.",
                        closes_on=(today + timedelta(days=30)).isoformat(), contact="Stuur een korte motivatie naar het secretariaat."),
        ),
        dict(
            theme="werking-van-de-adviesraad", kind="vacancy", author="mathieu", language="fr", days_ago=3,
            title="Le conseil de la solidarité de Seraing cherche une ou un secrétaire",
            body="Notre conseil cherche une ou un bénévole pour rédiger les procès-verbaux et préparer les avis avec le président.",
            fields=dict(asked="Une réunion par mois en soirée, aisance à l'écrit, intérêt pour les questions sociales.",
                        closes_on=(today + timedelta(days=45)).isoformat()),
        ),
        dict(
            theme="werking-van-de-adviesraad", kind="vacancy", author="henk", days_ago=60,
            title="Cliëntenraad zoekt een voorzitter",
            body="Onze voorzitter stopt na acht jaar. Wij zoeken iemand die verbindt en het gesprek met de wethouder aangaat.",
            fields=dict(asked="Ervaring met vergaderen en een netwerk in de gemeente.",
                        closes_on=(today + timedelta(days=1)).isoformat()),
            after={"closes_on": today - timedelta(days=20), "closed": True},
        ),
        dict(
            theme="participatie-en-burgerinitiatieven", kind="discussion", author="els", days_ago=14,
            title="Hoe maken we vergaderingen aantrekkelijker voor nieuwe leden?",
            body="Na een inspiratiesessie met andere raden bleef bij ons één vraag hangen: onze vergaderingen zijn lang en formeel. Wie heeft iets veranderd aan de vorm, en wat leverde dat op?",
            tags=("werving", "vergaderen"),
            replies=[
                dict(author="fatima", body="Wij werken nu met thema-avonden waar ook niet-leden welkom zijn. Een paar van hen zijn daarna lid geworden."),
                dict(author="nadia", body="Chez nous, chaque membre peut s'engager sur un seul thème plutôt que sur tout. Cela a attiré des personnes qui n'avaient pas le temps pour un mandat complet."),
                dict(author="joost", body="> chaque membre peut s'engager sur un seul thème\n\nDat flexibele lidmaatschap spreekt me aan. Hoe regelen jullie dan de stemming over adviezen?"),
            ],
            thanks={1: ["els"], 2: ["els", "koen"]},
        ),
        dict(
            theme="wonen", kind="discussion", author="mathieu", language="fr", days_ago=8,
            title="Logements inoccupés : quelles propositions au collège ?",
            body="Plusieurs logements communaux sont vides depuis des mois alors que la liste d'attente s'allonge. Avez-vous déjà rendu un avis sur ce sujet ?",
            tags=("logement",),
            replies=[dict(author="koen", body="In Genk stelden we voor om leegstaande woningen tijdelijk via een sociaal verhuurkantoor te verhuren. De gemeente onderzoekt het nu.")],
        ),
        dict(
            theme="zorg-en-welzijn", kind="discussion", author="fatima", days_ago=1,
            title="Wachttijden voor huishoudelijke hulp",
            body="De wachttijd voor huishoudelijke hulp loopt bij ons op tot twaalf weken. Welke afspraken hebben andere gemeenten met aanbieders gemaakt?",
            tags=("wmo",),
        ),
    ]


def load_demo(if_empty=True):
    """Load demo organisations, members, themes and threads; skipped when organisations exist
    and if_empty is set, so `make run` can call it every time."""
    from .threads import services

    if if_empty and db.session.scalar(db.select(db.func.count(Organisation.id))):
        click.echo("Demo content skipped: the database already has organisations.")
        return False
    password = current_app.config["DEMO_PASSWORD"]
    today = date.today()
    ensure_default_themes()
    themes = {t.slug: t for t in db.session.scalars(db.select(Theme))}

    orgs = {}
    for slug, name, kind, municipality, province, country, language, years in ORGANISATIONS:
        org = db.session.scalar(db.select(Organisation).where(Organisation.slug == slug))
        if org is None:
            org = Organisation(slug=slug, name=name, kind=kind, municipality=municipality, province=province,
                               country=country, language=language, membership_status="active",
                               member_since=today.replace(year=today.year - years, day=1),
                               website=f"https://{slug}.example.org")
            db.session.add(org)
        orgs[slug] = org
    db.session.flush()

    people = {}
    now = utcnow()
    # One hash for every demo account: hashing is deliberately slow, and they share a password.
    from werkzeug.security import generate_password_hash
    password_hash = generate_password_hash(password)
    for key, name, email, org_slug, role, locale in PEOPLE:
        user = db.session.scalar(db.select(User).where(User.email == email))
        if user is None:
            # Marieke is mailed at once: with AGORA_MAIL_DOMAIN (make run) her notification
            # mails in instance/mail/ show the reply address of mail-in.
            user = User(email=email, name=name, role=role, status="active", locale=locale,
                        organisation_id=orgs[org_slug].id, confirmed_at=now, approved_at=now,
                        terms_accepted_at=now, created_at=now - timedelta(days=90),
                        notify_mode="immediate" if key == "marieke" else "weekly")
            user.password_hash = password_hash
            db.session.add(user)
        people[key] = user
    # Someone waiting for approval, so moderators see the approval queue at work.
    if db.session.scalar(db.select(User).where(User.email == "nieuw@agora.example")) is None:
        pending = User(email="nieuw@agora.example", name="Tom Willems", role="member", status="pending",
                       locale="nl", organisation_id=orgs["asd-oss"].id, confirmed_at=now,
                       terms_accepted_at=now)
        pending.password_hash = password_hash
        db.session.add(pending)
    db.session.commit()
    for user in people.values():
        outbox.enqueue("user", user.id)
    db.session.commit()

    # The demo's posts count as already moderated (_thread passes check_abuse=False).
    services.watch_theme(people["marieke"], themes["schulden"])
    services.watch_theme(people["isabelle"], themes["goede-praktijken"])
    for spec in _threads(today):
        _thread(spec, people, themes)

    from .moderation.demo import add_moderation_demo  # reported and held messages for the review queue
    add_moderation_demo()
    from .attachments.demo import add_demo_attachments  # an advice letter, a memo and a flyer as files
    add_demo_attachments()
    from .advice.demo import add_advice_demo  # a dozen advices with their documents, for the register
    add_advice_demo()
    from .events.demo import add_demo_events  # an assembly, consultations, a webinar, a full training
    add_demo_events()

    counts = {m.__name__: db.session.scalar(db.select(db.func.count()).select_from(m))
              for m in (Organisation, User, Theme, Thread, Post)}
    click.echo("Demo content loaded: " + ", ".join(f"{n} {name.lower()}s" for name, n in counts.items()))
    click.echo("Demo accounts (password for all: %s):" % password)
    for key, name, email, org_slug, role, locale in PEOPLE:
        click.echo(f"  {email:<26} {role:<10} {name} ({orgs[org_slug].name})")
    click.echo("  nieuw@agora.example        pending    Tom Willems (waiting for approval)")
    return True
