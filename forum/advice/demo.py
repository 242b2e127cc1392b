"""Demo advice: a dozen advices from Dutch and Belgian councils across themes and answers,
each with its advice document as a PDF made here (invented councils and texts)."""
from datetime import date, timedelta

from ..extensions import db
from ..models import Post, Theme, Thread, User, utcnow
from ..attachments.pdfgen import make_pdf
from ..attachments.services import add_attachments, check_file, extract_pending

# author key (demo_content.PEOPLE e-mail prefix), theme slug, language, days since sent,
# requested, addressee, title, summary, answer status, days to the answer, follow-up
ADVICES = (
    ("marieke", "zorg-en-welzijn", "nl", 420, False, "college",
     "Advies over waardering voor mantelzorgers",
     "Ken de mantelzorgwaardering automatisch toe, bied respijtzorg aan en benader jonge mantelzorgers via scholen.",
     "adopted", 40, "Sinds januari krijgen bekende mantelzorgers de waardering zonder aanvraag."),
    ("henk", "werk-en-inkomen", "nl", 380, True, "college",
     "Advies over de verordening tegenprestatie",
     "Maak de tegenprestatie vrijwillig en laat inwoners zelf een activiteit kiezen die bij hen past.",
     "partly", 60, "De tegenprestatie blijft verplicht, maar inwoners kiezen nu zelf de activiteit."),
    ("fatima", "armoede-en-minimabeleid", "nl", 300, True, "council",
     "Advies over het armoedebeleid 2025-2028",
     "Verhoog de inkomensgrens voor minimaregelingen naar 130% van het sociaal minimum en maak één aanvraagformulier.",
     "not_adopted", 75, "De raad koos voor 120%; wij blijven het onderwerp volgen."),
    ("joost", "schulden", "nl", 250, False, "college",
     "Ongevraagd advies over vroegsignalering van schulden",
     "Laat de gemeente binnen twee weken contact opnemen na een melding van een betalingsachterstand.",
     "adopted", 35, "Het vroegsignaleringsteam belt nu binnen tien werkdagen."),
    ("els", "wonen", "nl", 200, True, "college",
     "Advies over het woonbeleidsplan",
     "Reserveer een kwart van de nieuwe sociale woningen voor senioren en mensen met een beperking.",
     "partly", 50, ""),
    ("koen", "jeugd", "nl", 160, False, "cpas",
     "Advies over jeugdhulp en het OCMW",
     "Zorg voor één vast aanspreekpunt voor jongeren die achttien worden en uit de jeugdhulp stromen.",
     "no_answer", None, "Na drie herinneringen kwam er geen antwoord; we vragen het opnieuw in de commissie."),
    ("isabelle", "armoede-en-minimabeleid", "fr", 340, False, "cpas",
     "Avis sur l'accès aux colis alimentaires",
     "Supprimer la preuve de revenus pour les colis d'urgence et ouvrir la distribution un samedi par mois.",
     "adopted", 45, "La distribution du samedi a commencé au printemps."),
    ("mathieu", "wonen", "fr", 230, False, "college_communal",
     "Avis sur les logements communaux inoccupés",
     "Confier les logements vides à une agence immobilière sociale et publier chaque trimestre la liste des logements inoccupés.",
     "partly", 55, "Deux logements ont été confiés à l'AIS ; la liste n'est pas publiée."),
    ("nadia", "participatie-en-burgerinitiatieven", "fr", 130, True, "college_communal",
     "Avis sur le budget participatif",
     "Réserver une part du budget participatif aux quartiers où la participation est la plus faible.",
     "not_adopted", 40, ""),
    ("fatima", "zorg-en-welzijn", "nl", 70, True, "college",
     "Advies over de inkoop van huishoudelijke hulp",
     "Neem een maximale wachttijd van vier weken op in de contracten met aanbieders.",
     "awaiting", None, ""),
    ("koen", "werk-en-inkomen", "nl", 30, False, "council",
     "Advies over werkervaringsplaatsen",
     "Bied werkervaringsplaatsen aan bij de gemeente zelf, met begeleiding op de werkvloer.",
     "awaiting", None, ""),
    ("isabelle", "jeugd", "fr", 20, True, "college_communal",
     "Avis sur l'accueil extrascolaire",
     "Aligner le tarif de l'accueil extrascolaire sur les revenus des familles.",
     "awaiting", None, ""),
)

MUNICIPALITIES = {  # the author's council's municipality and province
    "marieke": ("Zwolle", "NL-OV"), "henk": ("Veendam", "NL-GR"), "fatima": ("Nieuwegein", "NL-UT"),
    "joost": ("Oss", "NL-NB"), "els": ("Lier", "BE-VAN"), "koen": ("Genk", "BE-VLI"),
    "isabelle": ("Gembloux", "BE-WNA"), "mathieu": ("Seraing", "BE-WLG"), "nadia": ("Seraing", "BE-WLG"),
}


def _document(title, summary, municipality, lang):
    if lang == "fr":
        lines = [title, f"Au collège communal de {municipality}", "", "Madame, Monsieur,", "",
                 f"Le conseil consultatif vous remet l'avis suivant : {summary}", "",
                 "Nous vous remercions de nous faire part de la suite réservée à cet avis."]
    else:
        lines = [title, f"Aan het gemeentebestuur van {municipality}", "", "Geacht college,", "",
                 f"De adviesraad geeft u het volgende advies: {summary}", "",
                 "Wij horen graag binnen zes weken wat u met dit advies doet."]
    return make_pdf(lines, title=title)


def add_advice_demo(today=None):
    """Create the demo advices (skipped when advice exists); returns how many were added."""
    from ..threads import services
    from . import services as advice_services

    if db.session.scalar(db.select(db.func.count(Thread.id)).where(Thread.kind == "advice")):
        return 0
    today = today or date.today()
    themes = {t.slug: t for t in db.session.scalars(db.select(Theme))}
    added = 0
    for (key, theme, lang, days, requested, addressee, title, summary, status, answer_days,
         follow_up) in ADVICES:
        author = db.session.scalar(db.select(User).where(User.email == f"{key}@agora.example"))
        if author is None or theme not in themes:
            continue
        municipality, province = MUNICIPALITIES[key]
        sent = today - timedelta(days=days)
        answered = (sent + timedelta(days=answer_days)).isoformat() if answer_days else ""
        body = ("Het advies staat in de bijlage. Reacties en vergelijkbare adviezen van andere raden zijn welkom."
                if lang == "nl" else
                "L'avis complet est en pièce jointe. Vos réactions et vos avis sur le même sujet sont les bienvenus.")
        thread = services.create_thread(
            author, themes[theme], "advice", title, body, language=lang, check_abuse=False,
            fields=dict(requested=requested, sent_on=sent.isoformat(), addressee=addressee,
                        municipality=municipality, province=province, summary=summary,
                        answer_status=status, answered_on=answered, follow_up=follow_up))
        opening = db.session.scalar(db.select(Post).where(Post.thread_id == thread.id, Post.number == 1))
        name = ("Avis" if lang == "fr" else "Advies") + f" {municipality} {sent.year}.pdf"
        add_attachments(opening, author.id, [check_file(_document(title, summary, municipality, lang), name)])
        # Posted a few days after it was sent; reminders were dealt with at the time.
        created = utcnow() - timedelta(days=max(days - 3, 1))
        thread.created_at = thread.last_post_at = opening.created_at = opening.updated_at = created
        if status == "awaiting" and days > 56:
            thread.fields = dict(thread.fields, reminded_on=(sent + timedelta(weeks=8)).isoformat())
        db.session.commit()
        if key == "marieke":  # a correction after posting, so the demo shows an advice's history
            advice_services.edit_advice(author, thread, dict(
                thread.fields, municipality=municipality, province=province, sent_on=sent.isoformat(),
                summary=summary + " Betrek ook de huisartsen bij het vinden van mantelzorgers."))
        added += 1
    extract_pending()
    return added
