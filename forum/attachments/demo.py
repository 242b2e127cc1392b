"""Demo attachments: a Dutch advice letter (PDF), a French memo (DOCX) and a flyer (PNG),
generated here so the demo needs no binary files in the repository."""
import io
import unicodedata
from datetime import timedelta

import click

from ..extensions import db
from ..models import Post, Theme, Thread, User
from .models import Attachment
from .pdfgen import make_pdf
from .services import add_attachments, check_file, extract_pending

ADVICE_TITLE = "Ons advies over de mantelzorgwaardering"
ADVICE_LETTER = [
    "Adviesraad Sociaal Domein Zwolle",
    "Aan het college van burgemeester en wethouders van de gemeente Zwolle",
    "Onderwerp: ongevraagd advies over de mantelzorgwaardering 2025",
    "",
    "Geacht college,",
    "",
    "De adviesraad heeft de afgelopen maanden gesproken met mantelzorgers, het steunpunt mantelzorg en "
    "de wijkteams. Veel mantelzorgers weten niet dat de gemeente een jaarlijkse mantelzorgwaardering "
    "geeft, of vinden de aanvraag ingewikkeld.",
    "",
    "Wij adviseren het college:",
    "1. de mantelzorgwaardering automatisch toe te kennen aan mantelzorgers die al bekend zijn bij het "
    "steunpunt, zonder nieuwe aanvraag;",
    "2. naast de waardebon ook respijtzorg en een jaarlijkse ontmoetingsdag aan te bieden;",
    "3. jonge mantelzorgers apart te benaderen via scholen en het jongerenwerk;",
    "4. de aanvraag in begrijpelijke taal te schrijven, samen met mantelzorgers.",
    "",
    "Wij horen graag binnen zes weken hoe het college dit advies gebruikt.",
    "",
    "Met vriendelijke groet,",
    "Marieke de Vries, voorzitter",
]
MEMO = [
    "Note au collège communal de Seraing",
    "Objet : logements communaux inoccupés",
    "Le conseil de la solidarité constate que plusieurs logements communaux restent vides pendant des "
    "mois, alors que la liste d'attente du logement social s'allonge.",
    "Propositions du conseil :",
    "– confier les logements vides à une agence immobilière sociale pour une location temporaire ;",
    "– publier chaque trimestre la liste des logements inoccupés et la durée de leur inoccupation ;",
    "– réserver une partie des logements rénovés aux familles monoparentales et aux aînés isolés ;",
    "– associer les locataires à l'état des lieux pour une gestion respectueuse et une bientraitance "
    "des habitants.",
    "Le conseil reste disponible pour présenter ces propositions en commission.",
]


def _pdf():
    return make_pdf(ADVICE_LETTER, title="Advies mantelzorgwaardering 2025")


def _docx():
    import docx

    document = docx.Document()
    document.add_heading(MEMO[0], level=1)
    for paragraph in MEMO[1:]:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _flyer():
    """A simple flyer for the administration café, drawn with Pillow."""
    from PIL import Image, ImageDraw, ImageFont

    im = Image.new("RGB", (1200, 800), (29, 78, 137))
    draw = ImageDraw.Draw(im)
    draw.rectangle((40, 40, 1160, 760), outline=(242, 169, 0), width=12)

    fonts = {}

    def font(size):
        if size not in fonts:
            try:  # DejaVu has é and the en dash; the bundled fallback font may not
                fonts[size] = (ImageFont.truetype("DejaVuSans.ttf", size), True)
            except OSError:
                try:
                    fonts[size] = (ImageFont.load_default(size=size), False)
                except TypeError:  # Pillow without FreeType sizes
                    fonts[size] = (ImageFont.load_default(), False)
        return fonts[size]

    def text(xy, line, size, fill=(255, 255, 255)):
        face, full = font(size)
        if not full:
            line = unicodedata.normalize("NFKD", line.replace("–", "-")).encode("ascii", "ignore").decode()
        draw.text(xy, line, fill=fill, font=face)

    text((100, 120), "Administratiecafé", 104)
    text((100, 290), "Hulp bij brieven, formulieren en DigiD", 50)
    text((100, 400), "Elke dinsdag 13.30 – 16.00 uur", 50, fill=(242, 169, 0))
    text((100, 480), "Bibliotheek Oss, Raadhuislaan", 50)
    text((100, 640), "Gratis · zonder afspraak", 44)
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def _opening(title):
    thread = db.session.scalar(db.select(Thread).where(Thread.title == title))
    if thread is None:
        return None
    return db.session.scalar(db.select(Post).where(Post.thread_id == thread.id, Post.number == 1))


def _advice_thread():
    """A Dutch discussion whose opening post carries the advice letter."""
    from ..threads import services

    post = _opening(ADVICE_TITLE)
    if post is not None:
        return post
    author = db.session.scalar(db.select(User).where(User.email == "marieke@agora.example"))
    other = db.session.scalar(db.select(User).where(User.email == "henk@agora.example"))
    theme = db.session.scalar(db.select(Theme).where(Theme.slug == "zorg-en-welzijn"))
    if author is None or theme is None:
        return None
    thread = services.create_thread(
        author, theme, "discussion", ADVICE_TITLE,
        "Vorige maand stuurden we het college een ongevraagd advies over de mantelzorgwaardering: "
        "automatisch toekennen, respijtzorg erbij en jonge mantelzorgers apart benaderen. Het advies "
        "zit als PDF in de bijlage. Hebben jullie vergelijkbare adviezen gegeven, en wat deed de "
        "gemeente ermee?", language="nl", tags=("mantelzorg", "wmo"), check_abuse=False)
    if other is not None:
        services.create_reply(other, thread, "Sterk advies! Wij gaan het automatisch toekennen ook "
                                             "voorstellen. Mogen we jullie tekst als voorbeeld gebruiken?",
                              check_abuse=False)
    start = thread.created_at - timedelta(days=10)
    for post in db.session.scalars(db.select(Post).where(Post.thread_id == thread.id)):
        post.created_at = post.updated_at = start + timedelta(hours=20 * (post.number - 1))
    thread.created_at = start
    services.refresh_thread_stats(thread)
    db.session.commit()
    return _opening(ADVICE_TITLE)


def add_demo_attachments():
    """Attach the demo files (skipped when attachments exist) and extract their text."""
    if db.session.scalar(db.select(db.func.count(Attachment.id))):
        return 0
    plan = [
        (_advice_thread(), "Advies mantelzorgwaardering 2025.pdf", _pdf),
        (_opening("Logements inoccupés : quelles propositions au collège ?"), "Note logements inoccupés.docx", _docx),
        (_opening("Administratiecafé in de bibliotheek"), "Flyer administratiecafé.png", _flyer),
    ]
    added = 0
    for post, name, make in plan:
        if post is None:
            continue
        rows = add_attachments(post, post.author_id, [check_file(make(), name)])
        for row in rows:
            row.created_at = post.created_at
        added += len(rows)
    db.session.commit()
    extract_pending()
    click.echo(f"Demo attachments: {added} file(s).")
    return added
