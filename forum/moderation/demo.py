"""Demo moderation work: reported and held messages, so a moderator sees the queue at work."""
from datetime import timedelta

from flask import current_app

from ..extensions import db
from ..models import Flag, Organisation, Post, Thread, User, utcnow

SPAMMER_EMAIL = "deals@agora.example"
NEWCOMER_EMAIL = "bram@agora.example"


def _user(email):
    return db.session.scalar(db.select(User).where(User.email == email))


def _thread(title):
    return db.session.scalar(db.select(Thread).where(Thread.title == title))


def _person(email, name, org_slug, locale, password):
    org = db.session.scalar(db.select(Organisation).where(Organisation.slug == org_slug))
    now = utcnow()
    user = User(email=email, name=name, role="member", status="active", locale=locale,
                organisation_id=org.id if org else None, confirmed_at=now, approved_at=now,
                terms_accepted_at=now, created_at=now - timedelta(days=2))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def _flag(post, email, reason, note="", hours_ago=5):
    flagger = _user(email)
    if flagger is None or flagger.id == post.author_id:
        return
    db.session.add(Flag(post_id=post.id, user_id=flagger.id, reason=reason, note=note,
                        created_at=utcnow() - timedelta(hours=hours_ago)))


def _hold(post):
    """Mark a post as waiting for review, as pre-moderation would have."""
    from ..threads.services import refresh_thread_stats

    post.status = "held"
    if post.number == 1:
        post.thread.status = "hidden"
    refresh_thread_stats(post.thread)


def add_moderation_demo():
    """Add two reported replies and two held messages of a new member. Skipped when the
    demo spam account exists already (the loader may run more than once). Commits."""
    from ..threads import services

    if _user(SPAMMER_EMAIL) is not None or _user("marieke@agora.example") is None:
        return False
    password = current_app.config["DEMO_PASSWORD"]
    spammer = _person(SPAMMER_EMAIL, "Budget Deals", "asd-oss", "nl", password)
    newcomer = _person(NEWCOMER_EMAIL, "Bram Hoekstra", "participatieraad-nieuwegein", "nl", password)
    henk = _user("henk@agora.example")
    db.session.commit()

    parttime = _thread("Ervaringen met parttime werken vanuit de bijstand?")
    meetings = _thread("Hoe maken we vergaderingen aantrekkelijker voor nieuwe leden?")
    waiting = _thread("Wachttijden voor huishoudelijke hulp")
    # Written without the anti-abuse checks; what they would do is staged below, by hand.
    spam = services.create_reply(
        spammer, parttime,
        "Schulden? Snel geld zonder gedoe! Kijk op https://snelgeld.example en https://lening.example "
        "voor de beste deals van 2026.", check_abuse=False)
    privacy = services.create_reply(
        henk, waiting,
        "Bij ons wacht mevrouw J. de Boer van de Dorpsstraat 12 al vier maanden; ze is 84 en "
        "haar telefoonnummer is 06-12345678, bel haar gerust.", check_abuse=False)
    held_reply = services.create_reply(
        newcomer, meetings,
        "Wij zijn net begonnen met een welkomstmap voor nieuwe leden, met de vergaderdata en "
        "een maatje uit de raad. Ik deel hem graag!", check_abuse=False)
    held_thread = services.create_thread(
        newcomer, waiting.theme, "question", "Wie heeft ervaring met een cliëntenpanel voor de Wmo?",
        "Onze gemeente wil een cliëntenpanel opzetten naast de adviesraad. Hoe verdelen jullie "
        "de taken, en wie zit erin?", language="nl", tags=("wmo", "participatie"), check_abuse=False)

    _flag(spam, "marieke@agora.example", "spam", hours_ago=6)
    _flag(spam, "joost@agora.example", "spam", hours_ago=4)
    _flag(spam, "els@agora.example", "off_topic", hours_ago=2)
    if spam.status == "visible":
        # Three reports hide a message at once, pending review (FLAGS_TO_HIDE).
        spam.status = "hidden"
        from .audit import record
        record(None, "auto_hide_post", "post", spam.id, "", flags=3, thread_id=spam.thread_id)
    _flag(privacy, "fatima@agora.example", "privacy",
          "Naam, adres en telefoonnummer van een inwoner, zonder dat zij daarvan weet.", hours_ago=3)
    _hold(held_reply)
    _hold(db.session.scalar(db.select(Post).where(Post.thread_id == held_thread.id, Post.number == 1)))
    services.refresh_thread_stats(parttime)
    db.session.commit()
    return True
