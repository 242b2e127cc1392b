"""The default themes a new site starts with (`flask --app wsgi forum init-themes`)."""
from .. import outbox
from ..extensions import db
from ..models import Theme

DEFAULT_THEMES = (
    # slug, Dutch name, French name, Dutch description, French description, visibility, post policy
    ("werk-en-inkomen", "Werk en inkomen", "Travail et revenus",
     "Bijstand, re-integratie, Participatiewet en alles rond werk en een inkomen.",
     "Aide sociale, réinsertion, emploi et tout ce qui touche au revenu.", "members", "everyone"),
    ("armoede-en-minimabeleid", "Armoede en minimabeleid", "Pauvreté et aide aux revenus modestes",
     "Minimaregelingen, armoedebeleid en de toegang tot voorzieningen.",
     "Aides aux revenus modestes, lutte contre la pauvreté et accès aux droits.", "members", "everyone"),
    ("schulden", "Schulden", "Endettement",
     "Schuldhulpverlening, vroegsignalering en budgetbeheer.",
     "Médiation de dettes, détection précoce et gestion budgétaire.", "members", "everyone"),
    ("zorg-en-welzijn", "Zorg en welzijn", "Soins et bien-être",
     "Wmo, mantelzorg, ouderen en toegankelijke zorg dichtbij huis.",
     "Aide à domicile, aidants proches, aînés et soins de proximité.", "members", "everyone"),
    ("jeugd", "Jeugd", "Jeunesse",
     "Jeugdhulp, jongerenparticipatie en opgroeien in armoede.",
     "Aide à la jeunesse, participation des jeunes et grandir dans la précarité.", "members", "everyone"),
    ("wonen", "Wonen", "Logement",
     "Betaalbaar wonen, huisvesting van kwetsbare groepen en woonbegeleiding.",
     "Logement abordable, logement des publics fragiles et accompagnement.", "members", "everyone"),
    ("participatie-en-burgerinitiatieven", "Participatie en burgerinitiatieven",
     "Participation et initiatives citoyennes",
     "Inwoners die zelf iets opzetten, en hoe de gemeente en de adviesraad dat steunen.",
     "Des habitants qui lancent un projet, et comment la commune et le conseil les soutiennent.",
     "public", "everyone"),
    ("goede-praktijken", "Goede praktijken", "Bonnes pratiques",
     "Wat werkte elders? Aanpakken van raden en gemeenten om van te leren.",
     "Ce qui a marché ailleurs : des démarches de conseils et de communes dont on peut s’inspirer.",
     "public", "everyone"),
    ("werking-van-de-adviesraad", "Werking van de adviesraad", "Fonctionnement du conseil",
     "Vergaderen, werven, ongevraagd advies, de relatie met wethouder of schepen en ambtenaren.",
     "Réunions, recrutement, avis d’initiative, relations avec l’échevin et l’administration.",
     "members", "everyone"),
    ("nieuws-van-de-koepel", "Nieuws van de koepel", "Nouvelles de la coupole",
     "Aankondigingen van de koepelorganisatie.", "Annonces de l’organisation coupole.",
     "members", "moderators"),
)


def ensure_default_themes():
    """Create the default themes that do not exist yet (by slug); returns how many were added.

    Existing themes are left as they are: an admin may have renamed or reordered them.
    """
    existing = set(db.session.scalars(db.select(Theme.slug)))
    added = []
    for position, (slug, name_nl, name_fr, desc_nl, desc_fr, visibility, policy) in enumerate(DEFAULT_THEMES, 1):
        if slug in existing:
            continue
        theme = Theme(slug=slug, name_nl=name_nl, name_fr=name_fr, description_nl=desc_nl,
                      description_fr=desc_fr, visibility=visibility, post_policy=policy,
                      position=position * 10)
        db.session.add(theme)
        added.append(theme)
    db.session.flush()
    for theme in added:
        outbox.enqueue("theme", theme.id)
    db.session.commit()
    return len(added)
