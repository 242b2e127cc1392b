"""A small relevance set: 40 realistic threads, 32 queries that must find their thread in the top 3.

Run against both search engines (Whoosh and, in the PostgreSQL run, PostgreSQL).
"""
import pytest

CORPUS = {
    # key: (language, kind, title, body, tags)
    "armoedebeleid": ("nl", "question", "Nieuw armoedebeleid: wat vragen jullie de wethouder?",
                      "Onze gemeente schrijft een nieuw armoedebeleid. Welke punten hebben andere adviesraden ingebracht over minima en kinderen?", ["armoede"]),
    "kinderarmoede": ("nl", "practice", "Kindpakket tegen kinderarmoede",
                      "Met het kindpakket krijgen gezinnen met een laag inkomen zwemles, een fiets en schoolspullen.", ["armoede", "jeugd"]),
    "schuldhulp": ("nl", "question", "Wachtlijst bij de schuldhulpverlening",
                   "Inwoners wachten maanden op een eerste gesprek. Hoe krijgen jullie de wachttijd voor schuldhulp omlaag?", ["schulden"]),
    "vroegsignalering": ("nl", "practice", "Vroegsignalering van betalingsachterstanden",
                         "Woningcorporatie, energieleverancier en zorgverzekeraar melden achterstanden, zodat de gemeente op tijd langs gaat.", ["schulden"]),
    "mantelzorgwaardering": ("nl", "practice", "Mantelzorgwaardering met een cadeaubon",
                             "Elke mantelzorger krijgt jaarlijks een waardering. Wij adviseerden om ook jonge mantelzorgers te bereiken.", ["mantelzorg"]),
    "respijt": ("nl", "question", "Respijtzorg voor overbelaste mantelzorgers",
                "Welke vormen van logeeropvang en respijtzorg kennen jullie voor mensen die voor een partner met dementie zorgen?", ["mantelzorg"]),
    "participatieraad": ("nl", "discussion", "Van Wmo-raad naar participatieraad",
                         "Onze gemeente wil de Wmo-raad en cliëntenraad samenvoegen tot één participatieraad. Ervaringen?", ["participatie", "wmo"]),
    "jeugdzorg": ("nl", "question", "Wachttijden in de jeugdzorg",
                  "Ouders klagen over lange wachttijden voor jeugdhulp. Heeft jullie raad hierover ongevraagd advies gegeven?", ["jeugd"]),
    "woningnood": ("nl", "discussion", "Woningnood bij jongeren en starters",
                   "Jongeren vinden geen betaalbare huurwoning. Wij pleiten voor tijdelijke woningen en woningdelen.", ["wonen"]),
    "vrijwilligers": ("nl", "question", "Hoe werven jullie nieuwe vrijwilligers?",
                      "Ons vrijwilligerswerk vergrijst. Welke wervingsacties voor vrijwilligers hebben gewerkt?", ["vrijwilligers"]),
    "clientenraad": ("nl", "initiative", "Training voor leden van de cliëntenraad",
                     "Een cursus over de Participatiewet en de rol van een cliëntenraad, voor nieuwe leden.", ["participatie"]),
    "bijstand": ("nl", "question", "Kostendelersnorm in de bijstand",
                 "Mensen in de bijstand die een familielid in huis nemen, verliezen een deel van hun uitkering. Wat adviseren jullie?", ["bijstand"]),
    "energietoeslag": ("nl", "practice", "Energietoeslag automatisch uitkeren",
                       "De gemeente keerde de energietoeslag zonder aanvraag uit aan iedereen met een bijstandsuitkering.", ["armoede"]),
    "toegankelijkheid": ("nl", "initiative", "Schouw van toegankelijkheid in het centrum",
                         "Met rolstoelgebruikers liepen wij een route langs winkels en het gemeentehuis om drempels te vinden.", ["toegankelijkheid"]),
    "eenzaamheid": ("nl", "practice", "Aanpak van eenzaamheid onder ouderen",
                    "Buurtvrijwilligers bezoeken ouderen die alleen wonen en nodigen hen uit voor de wekelijkse koffieochtend.", ["ouderen"]),
    "taxivervoer": ("nl", "question", "Klachten over het Wmo-vervoer",
                    "De regiotaxi komt vaak te laat. Hoe verzamelen jullie klachten over het doelgroepenvervoer?", ["wmo"]),
    "burgerinitiatief": ("nl", "initiative", "Burgerinitiatief voor een buurtmoestuin",
                         "Bewoners legden samen een moestuin aan op een braakliggend terrein, met steun van de gemeente.", ["participatie"]),
    "statushouders": ("nl", "practice", "Taalmaatjes voor statushouders",
                      "Vrijwillige taalmaatjes helpen nieuwkomers bij de inburgering en het vinden van werk.", ["integratie"]),
    "voedselbank": ("nl", "discussion", "Samenwerking met de voedselbank",
                    "Steeds meer werkenden komen naar de voedselbank. Hoe betrekken jullie de voedselbank bij het beleid?", ["armoede"]),
    "jaarverslag": ("nl", "announcement", "Jaarverslag van de adviesraad sociaal domein",
                    "Ons jaarverslag met alle gevraagde en ongevraagde adviezen staat online.", []),
    "vacature": ("nl", "vacancy", "Voorzitter gezocht voor de adviesraad",
                 "Wij zoeken een onafhankelijke voorzitter met kennis van het sociaal domein.", []),
    "digitaal": ("nl", "question", "Digitale inclusie en het gemeenteloket",
                 "Ouderen kunnen hun aanvraag niet meer op papier doen. Pleiten jullie voor een fysiek loket?", ["ouderen"]),
    "beschermingsbewind": ("nl", "question", "Kosten van beschermingsbewind stijgen",
                           "De bijzondere bijstand voor bewindvoering drukt zwaar op het budget. Zijn er alternatieven?", ["schulden"]),
    "huisbezoek": ("nl", "practice", "Huisbezoeken door het wijkteam",
                   "Het wijkteam gaat bij nieuwe aanvragen op huisbezoek in plaats van een telefonisch gesprek.", ["wmo"]),
    # French
    "pauvrete": ("fr", "question", "Plan de lutte contre la pauvreté",
                 "La commune prépare un nouveau plan contre la pauvreté. Quels avis vos conseils ont-ils rendus sur les familles monoparentales ?", ["pauvreté"]),
    "mediation": ("fr", "practice", "Médiation de dettes au CPAS",
                  "Le service de médiation de dettes du CPAS reçoit les ménages surendettés sans rendez-vous le mardi.", ["dettes"]),
    "aidants": ("fr", "question", "Reconnaissance des aidants proches",
                "Comment votre commune soutient-elle les aidants proches ? Nous pensons à un congé et à du répit.", ["aidants"]),
    "cpas": ("fr", "discussion", "Le CPAS et le revenu d'intégration",
             "Le revenu d'intégration reste sous le seuil de pauvreté. Le CPAS peut-il compléter avec une aide sociale ?", ["cpas"]),
    "logement": ("fr", "question", "Logement social et listes d'attente",
                 "Les listes d'attente pour un logement social dépassent huit ans. Quelles solutions pour les locataires ?", ["logement"]),
    "benevoles": ("fr", "practice", "Une fête pour remercier les bénévoles",
                  "Chaque année, l'association organise une fête pour ses bénévoles, avec un défraiement symbolique.", ["bénévoles"]),
    "conseil": ("fr", "initiative", "Créer un conseil consultatif des aînés",
                "L'initiative citoyenne a convaincu le collège de créer un conseil consultatif des aînés.", ["participation"]),
    "initiative": ("fr", "initiative", "L'initiative citoyenne d'un quartier de Liège",
                   "Des habitants du quartier ont lancé une épicerie sociale et un repair café.", ["participation"]),
    "solitude": ("fr", "practice", "Briser la solitude des personnes âgées",
                 "Des bénévoles téléphonent chaque semaine aux personnes âgées isolées de la commune.", ["aînés"]),
    "handicap": ("fr", "question", "Accessibilité des bâtiments publics",
                 "Les personnes en fauteuil roulant n'accèdent pas à la maison communale. Avez-vous rendu un avis ?", ["handicap"]),
    "jeunesse": ("fr", "discussion", "Aide à la jeunesse et décrochage scolaire",
                 "Le décrochage scolaire augmente. Quel rôle pour les services d'aide à la jeunesse ?", ["jeunesse"]),
    "energie": ("fr", "question", "Précarité énergétique et compteurs à budget",
                "Des familles se retrouvent sans chauffage avec un compteur à budget. Que fait le CPAS ?", ["pauvreté"]),
    "epicerie": ("fr", "practice", "Une épicerie sociale gérée par des bénévoles",
                 "L'épicerie sociale vend des produits à prix réduit aux ménages orientés par le CPAS.", ["pauvreté"]),
    "transport": ("fr", "question", "Transport des personnes à mobilité réduite",
                  "Le service de transport adapté ne roule pas le week-end. Comment l'améliorer ?", ["handicap"]),
    "usagers": ("fr", "discussion", "La voix des usagers dans le conseil",
                "Comment associer les usagers du CPAS aux avis du conseil consultatif ?", ["participation"]),
    "sansabri": ("fr", "question", "Accueil de nuit pour les sans-abri",
                 "L'hiver approche et l'hébergement de nuit est saturé. Quelles communes ont ouvert un abri supplémentaire ?", ["logement"]),
}

QUERIES = [
    # Dutch: words, stems, compounds, accents
    ("armoedebeleid", "armoedebeleid"),
    ("armoede", "armoedebeleid"),
    ("kinderarmoede", "kinderarmoede"),
    ("schuldhulpverlening wachtlijst", "schuldhulp"),
    ("schuld", "schuldhulp"),
    ("betalingsachterstanden", "vroegsignalering"),
    ("mantelzorgers", "respijt"),
    ("mantelzorg", "mantelzorgwaardering"),
    ("respijtzorg dementie", "respijt"),
    ("participatieraad", "participatieraad"),
    ("jeugdzorg wachttijden", "jeugdzorg"),
    ("jeugd", "jeugdzorg"),
    ("woningnood jongeren", "woningnood"),
    ("vrijwilligers werven", "vrijwilligers"),
    ("clientenraad training", "clientenraad"),
    ("kostendelersnorm", "bijstand"),
    ("energietoeslag", "energietoeslag"),
    ("rolstoel drempels", "toegankelijkheid"),
    ("eenzaamheid ouderen", "eenzaamheid"),
    ('"regiotaxi komt vaak te laat"', "taxivervoer"),
    ("beschermingsbewind", "beschermingsbewind"),
    # French: accents, elisions, stems
    ("pauvreté", "pauvrete"),
    ("pauvrete familles monoparentales", "pauvrete"),
    ("médiation de dettes", "mediation"),
    ("aidants proches", "aidants"),
    ("l'intégration", "cpas"),
    ("logements sociaux", "logement"),
    ("bénévole", "benevoles"),
    ("conseil consultatif des aînés", "conseil"),
    ("d'initiative citoyenne", "initiative"),
    ("sans-abri", "sansabri"),
    # Cross-language through the glossary
    ("schuldhulpverlening", "mediation"),
    ("mantelzorger", "aidants"),
    ("vrijwilligers", "benevoles"),
    ("armoedebestrijding", "pauvrete"),
    ("bénévoles", "vrijwilligers"),
    ("daklozen", "sansabri"),
]


@pytest.fixture
def app_config(app_config, search_backend):
    return dict(app_config, SEARCH_BACKEND=search_backend)


@pytest.fixture
def corpus(app, make_thread, make_theme, runner):
    app.config["PREMODERATE_FIRST_POSTS"] = 0
    app.config["RATELIMIT_ENABLED"] = False
    theme = make_theme(visibility="public", slug="sociaal-domein", name_nl="Sociaal domein", name_fr="Domaine social")
    ids = {}
    for key, (lang, kind, title, body, tags) in CORPUS.items():
        thread = make_thread(theme=theme, kind="discussion" if kind == "announcement" else kind, title=title,
                             body=body, language=lang, tags=tags)
        ids[key] = thread.id
    result = runner.invoke(args=["search", "sync"])
    assert result.exit_code == 0, result.output
    return ids


def test_corpus_and_query_set_are_big_enough():
    assert len(CORPUS) >= 40 and len(QUERIES) >= 30
    assert {lang for lang, *_ in CORPUS.values()} == {"nl", "fr"}


def test_relevance_top3(client, corpus):
    misses = []
    for query, expected in QUERIES:
        data = client.get("/api/v1/search", query_string={"q": query}).get_json()
        top = [r["thread_id"] for r in data["results"][:3]]
        if corpus[expected] not in top:
            misses.append((query, expected, [r["title"] for r in data["results"][:3]]))
    assert misses == [], "\n".join(map(repr, misses))
