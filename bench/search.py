"""Search benchmark: bulk indexing, commit-to-searchable, and query latency vs bare Whoosh.

    .venv/bin/python bench/search.py               # 100,000 posts (several minutes)
    .venv/bin/python bench/search.py --posts 5000  # a quick run
    .venv/bin/python bench/search.py --backend postgres  # Whoosh and PostgreSQL side by side

Generates Dutch and French threads from word lists into a fresh instance folder (SQLite
+ index), rebuilds the index, then measures: bulk indexing throughput; incremental
update latency (a reply committed through the forum service until a search finds it);
query latency (median, p95) of the app's search (highlights, facets, permission filter,
database check) and of the bare whoosh searcher running the same query object with
limit=10 on the same index, printed side by side with their ratio.
"""
import argparse
import itertools
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NL_FUNCTION = ("de het een en van in op met voor is dat die niet ook bij om te aan als er naar "
               "over wij we ons onze zij hun dit deze maar nog wel zijn worden wordt kan kunnen "
               "moet hebben heeft door uit tot").split()
FR_FUNCTION = ("le la les un une des de du et en à au aux pour par avec dans sur est sont que qui "
               "nous notre nos ils leur ce cette ces mais aussi pas plus très être avoir a ont "
               "peut doit fait comme").split()
NL_WORDS = """armoede gemeente adviesraad cliëntenraad mantelzorg mantelzorger vrijwilliger
vrijwilligers jeugdzorg jongeren ouderen bijstand uitkering schulden schuld participatie
inwoners wijk buurt wonen woning huurders zorg ondersteuning beleid wethouder raad advies
vergadering inspraak toegankelijkheid vervoer eenzaamheid werk inkomen minima regeling
subsidie begroting evaluatie onderzoek aanpak preventie signalering wachtlijst huisarts
wijkteam sociaal domein leden voorzitter secretaris jaarverslag werkplan ervaring resultaat
probleem oplossing samenwerking netwerk organisatie gezinnen kinderen school onderwijs taal
statushouders inburgering integratie digitaal loket formulier aanvraag toeslag huur energie
rekening voedselbank kledingbank kringloop dagbesteding respijtzorg thuiszorg verpleging
coöperatie initiatief burgerinitiatief bewoners panel enquête gesprek bijeenkomst avond
training cursus opleiding werving vacature kandidaat functie vergoeding budget fonds
pilot project plan visie nota verordening wet regels privacy klacht ombudsman
gehandicapten beperking rolstoel drempel gebouw ingang station bus taxi pas
""".split()
NL_HEADS = "schuld armoede jeugd zorg mantelzorg vrijwilligers burger wijk huur energie inkomens participatie cliënt ouderen".split()
NL_TAILS = "hulpverlening beleid regeling ondersteuning plan raad loket team werk fonds budget netwerk toeslag aanpak".split()
FR_WORDS = """pauvreté commune conseil consultatif usagers aidants proches bénévoles bénévolat
jeunesse jeunes aînés aide sociale revenu intégration dettes médiation cpas participation
habitants quartier logement locataires soins soutien politique échevin avis réunion
consultation accessibilité transport solitude emploi revenus allocation règlement subvention
budget évaluation enquête approche prévention attente médecin équipe domaine social membres
président secrétaire rapport annuel plan expérience résultat problème solution collaboration
réseau association familles enfants école enseignement langue réfugiés primo-arrivants
guichet formulaire demande loyer énergie facture banque alimentaire épicerie centre jour
répit domicile coopérative initiative citoyenne panel entretien soirée formation recrutement
candidat fonction défraiement fonds projet pilote vision note décret règles vie privée
plainte médiateur handicap fauteuil roulant bâtiment entrée gare bus carte commune service
""".split()
TAGS = ("armoede schulden mantelzorg jeugd wonen participatie vrijwilligers wmo bijstand "
        "pauvreté dettes logement bénévoles cpas aidants").split()
KINDS = ("question", "practice", "initiative", "discussion", "announcement", "vacancy")


# Syllables for made-up words that look and stem like Dutch and French content words.
NL_SYLLABLES = (
    ("b d f g h k l m n p r s t v w z br dr gr kl kr pl sl sp st tr vl zw sch str").split(),
    ("a e i o u aa ee oo ie oe ui ei ij eu ou").split(),
    ("- l n r k t s m nd rt ld ng cht rk st").split(),
)
NL_SUFFIXES = "- - - - ing heid er en schap lijk baar te ster je".split()
FR_SYLLABLES = (
    ("b c d f g l m n p r s t v ch cr pr tr gr bl pl").split(),
    ("a e i o u é ou ai au eu on an in").split(),
    ("- - - r l s n").split(),
)
FR_SUFFIXES = "tion ment age ité eur ance ique iste eux ier ure ette isme oire el e".split()
VOCABULARY = 6000  # distinct content words per language (real words first, then made-up ones)
ZIPF_EXPONENT = 1.0
QUERY_RANKS = (10, 3000)  # queries use content words of these frequency ranks, uniformly


def _made_up(rng, syllables, suffixes, n, taken):
    onsets, vowels, codas = syllables
    out = []
    while len(out) < n:
        parts = []
        for _ in range(rng.choice((2, 2, 3))):
            parts.append(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas).strip("-"))
        word = "".join(parts) + rng.choice(suffixes).strip("-")
        if len(word) >= 5 and word not in taken:
            taken.add(word)
            out.append(word)
    return out


def _ranked(rng, real, made_up):
    """Real words mostly among the frequent ones, made-up words fill the long tail."""
    keyed = [(rng.random() * 0.25, w) for w in real] + [(rng.random(), w) for w in made_up]
    keyed.sort()
    words = [w for _k, w in keyed]
    weights = [1.0 / (i + 1) ** ZIPF_EXPONENT for i in range(len(words))]
    return words, weights


class TextMaker:
    """Dutch and French posts with a realistic vocabulary: a few thousand content words
    per language with Zipf frequencies, separated by the languages' function words."""

    def __init__(self, seed=7):
        self.rng = random.Random(seed)
        rng = self.rng
        compounds = [h + t for h in NL_HEADS for t in NL_TAILS]
        compounds += [a + b for a, b in (rng.sample(NL_WORDS, 2) for _ in range(300))]
        nl_real = list(dict.fromkeys(NL_WORDS + compounds))
        fr_real = list(dict.fromkeys(FR_WORDS))
        taken = set(nl_real) | set(fr_real) | set(NL_FUNCTION) | set(FR_FUNCTION)
        nl_made = _made_up(rng, NL_SYLLABLES, NL_SUFFIXES, VOCABULARY - len(nl_real), taken)
        fr_made = _made_up(rng, FR_SYLLABLES, FR_SUFFIXES, VOCABULARY - len(fr_real), taken)
        self.nl_words, self.nl_weights = _ranked(rng, nl_real, nl_made)
        self.fr_words, self.fr_weights = _ranked(rng, fr_real, fr_made)
        self._cum = {}

    def vocabulary(self, lang):
        return self.nl_words if lang == "nl" else self.fr_words

    def words(self, lang, k):
        if lang not in self._cum:
            weights = self.nl_weights if lang == "nl" else self.fr_weights
            self._cum[lang] = list(itertools.accumulate(weights))
        return self.rng.choices(self.vocabulary(lang), cum_weights=self._cum[lang], k=k)

    def content(self, lang):
        """The content words of one sentence."""
        return self.words(lang, self.rng.randint(8, 18))

    def sentence(self, lang, content=None):
        function = NL_FUNCTION if lang == "nl" else FR_FUNCTION
        out = []
        for w in content or self.content(lang):
            if self.rng.random() < 0.8:
                out.append(self.rng.choice(function))
            out.append(w)
        return " ".join(out).capitalize() + "."

    def body(self, lang):
        return " ".join(self.sentence(lang) for _ in range(self.rng.randint(2, 5)))

    def title(self, lang):
        return " ".join(self.words(lang, self.rng.randint(3, 7))).capitalize()


def populate(app, posts, seed=7):
    """Insert organisations, members, themes, threads and posts in bulk (no services)."""
    from forum.extensions import db
    from forum.models import Organisation, Post, Tag, Theme, Thread, User, thread_tags, utcnow

    maker = TextMaker(seed)
    rng = maker.rng
    now = utcnow()
    with app.app_context():
        db.create_all()
        orgs = [Organisation(name=f"Adviesraad Sociaal Domein Plaats{i}", slug=f"ar-{i}",
                             municipality=f"Plaats{i}", province="NL-UT", membership_status="active")
                for i in range(200)]
        db.session.add_all(orgs)
        db.session.flush()
        users = [User(email=f"lid{i}@example.org", name=f"Lid {i}", status="active", role="member",
                      organisation_id=orgs[i % len(orgs)].id) for i in range(1000)]
        themes = [Theme(slug=f"thema-{i}", name_nl=f"Thema {i}", name_fr=f"Thème {i}",
                        visibility="members" if i % 3 == 0 else "public", position=i) for i in range(12)]
        tags = [Tag(name=t) for t in TAGS]
        db.session.add_all(users + themes + tags)
        db.session.commit()
        user_ids = [(u.id, u.organisation_id) for u in users]
        theme_ids = [t.id for t in themes]
        tag_ids = [t.id for t in tags]
        made = 0
        thread_id = 0
        post_rows, thread_rows, tag_rows = [], [], []
        while made < posts:
            thread_id += 1
            lang = "nl" if rng.random() < 0.7 else "fr"
            author, org_id = rng.choice(user_ids)
            n_posts = min(rng.randint(1, 9), posts - made)
            created = now - timedelta(days=rng.randint(0, 900), minutes=rng.randint(0, 1440))
            kind = rng.choice(KINDS)
            thread_rows.append(dict(
                id=thread_id, theme_id=rng.choice(theme_ids), kind=kind, title=maker.title(lang)[:200],
                language=lang, author_id=author, organisation_id=org_id, status="visible",
                municipality=f"Plaats{org_id}", province="", fields={}, locked=False, pinned="",
                closed=False, last_post_at=created, post_count=n_posts, thanks_count=0,
                created_at=created, updated_at=created,
            ))
            for tag in rng.sample(tag_ids, rng.randint(0, 3)):
                tag_rows.append(dict(thread_id=thread_id, tag_id=tag))
            for number in range(1, n_posts + 1):
                text = maker.body(lang if rng.random() < 0.9 else ("fr" if lang == "nl" else "nl"))
                post_rows.append(dict(
                    thread_id=thread_id, author_id=rng.choice(user_ids)[0], number=number,
                    body_source=text, body_html=f"<p>{text}</p>", status="visible", hidden_reason="",
                    edit_count=0, thanks_count=0,
                    created_at=created + timedelta(hours=number), updated_at=created,
                ))
            made += n_posts
            if len(post_rows) >= 5000 or made >= posts:
                db.session.execute(db.insert(Thread), thread_rows)
                db.session.execute(db.insert(thread_tags), tag_rows)
                db.session.execute(db.insert(Post), post_rows)
                db.session.commit()
                post_rows, thread_rows, tag_rows = [], [], []
        return maker, thread_id


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100, help="queries per category")
    parser.add_argument("--keep", help="keep the instance in this folder")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep: reuse the database (and index, with --no-rebuild) already there")
    parser.add_argument("--no-rebuild", action="store_true", help="with --reuse: skip bulk indexing")
    parser.add_argument("--cold", action="store_true",
                        help="skip the worker warm-up (forum/warmup.py: analysis data, frequent words' postings)")
    parser.add_argument("--profile", help="write a cProfile of the app's queries to this file")
    parser.add_argument("--backend", choices=("whoosh", "postgres"), default="whoosh",
                        help="postgres: both engines on one PostgreSQL database, side by side "
                             "(bench/search_postgres.py)")
    parser.add_argument("--database-url", default=os.environ.get("AGORA_BENCH_DATABASE_URL"),
                        help="with --backend postgres: a database the benchmark may empty")
    args = parser.parse_args()
    if args.backend == "postgres":
        from search_postgres import compare

        return compare(args, populate, pct, QUERY_RANKS)

    from werkzeug.datastructures import MultiDict

    from forum import create_app
    from forum.extensions import db
    from forum.models import Post, Theme, Thread, User
    from search.backend import get_backend
    from search.indexing import drain, rebuild
    from search.query import parse
    from search import service as search_service
    from search.service import params_from, search_threads

    folder = args.keep or tempfile.mkdtemp(prefix="agora-bench-")
    reuse = bool(args.keep and args.reuse and (Path(folder) / "agora.db").exists())
    if args.keep and not reuse:
        shutil.rmtree(folder, ignore_errors=True)
    app = create_app({"INSTANCE_PATH": folder, "SECRET_KEY": "bench", "TESTING": False,
                      "RATELIMIT_ENABLED": False, "PREMODERATE_FIRST_POSTS": 0})
    print(f"Agora search benchmark: {args.posts} posts, instance {folder}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (timings are wall-clock)")
    t0 = time.perf_counter()
    if reuse:
        maker = TextMaker()
        with app.app_context():
            threads = db.session.scalar(db.select(db.func.max(Thread.id)))
            posts = db.session.scalar(db.select(db.func.count(Post.id)))
        print(f"  reusing {threads} threads / {posts} posts")
    else:
        maker, threads = populate(app, args.posts)
        print(f"  generated {threads} threads / {args.posts} posts in {time.perf_counter() - t0:.1f} s")

    with app.app_context():
        if not (reuse and args.no_rebuild):
            t0, c0 = time.perf_counter(), time.process_time()
            count = rebuild()
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
            status = get_backend().status()
            print(f"\nBulk indexing: {count} posts in {elapsed:.1f} s = {count / elapsed:.0f} posts/s "
                  f"(CPU {cpu:.1f} s = {count / cpu:.0f} posts per CPU second; "
                  f"index {status['size_bytes'] / 1048576:.0f} MiB, {status['segments']} segments)")

    rng = random.Random(11)

    # Incremental: a reply through the forum service (commit + outbox row), then the drain,
    # until a search for its unique word finds it.
    latencies = []
    with app.app_context():
        from forum.threads import services

        for i in range(20):
            thread = db.session.get(Thread, rng.randint(1, threads))
            author = db.session.get(User, rng.randint(1, 1000))
            word = f"benchmarkwoord{i}x{time.time_ns() % 10**12}"
            services.create_reply(author, thread, f"Nieuwe reactie met {word} over armoede.")
            committed = time.perf_counter()
            # The drain as the app runs it after the request that committed the reply.
            with app.test_request_context("/nl/t/reply", method="POST"):
                drain(max_rows=200, wait=app.config.get("SEARCH_DRAIN_WAIT", 1.0), rounds=2)
            with app.test_request_context("/nl/search"):
                outcome = search_threads(author, params_from(MultiDict({"q": word})))
            assert outcome.total == 1, outcome.total
            latencies.append((time.perf_counter() - committed) * 1000)
    print(f"Commit to searchable (20 replies): median {statistics.median(latencies):.0f} ms, "
          f"p95 {pct(latencies, 95):.0f} ms, max {max(latencies):.0f} ms")

    low, high = QUERY_RANKS
    query_words = {lang: maker.vocabulary(lang)[low:high] for lang in ("nl", "fr")}

    def language():
        return "nl" if rng.random() < 0.7 else "fr"

    def word():
        return rng.choice(query_words[language()])

    def two_words():
        # Two topic words that occur together in a sentence, as people combine them.
        lang = language()
        pool = [w for w in maker.content(lang) if w in set(query_words[lang])]
        if len(set(pool)) < 2:
            return f"{word()} {word()}"
        a, b = rng.sample(sorted(set(pool)), 2)
        return f"{a} {b}"

    def phrase():
        # Two adjacent content words of a generated sentence (function words are stop words).
        content = maker.content(language())
        i = rng.randrange(len(content) - 1)
        return f'"{content[i]} {content[i + 1]}"'

    def most_words():
        # Words that seldom meet in one post (two of one language, one of the other): all
        # words find few threads, so the app ranks the threads with most of them.
        lang = language()
        other = "fr" if lang == "nl" else "nl"
        return " ".join(rng.sample(query_words[lang], 2) + [rng.choice(query_words[other])])

    with app.app_context():
        theme_slugs = [t.slug for t in db.session.scalars(db.select(Theme))]
    categories = {
        "single word": lambda: ({"q": word()}),
        "two words": lambda: ({"q": two_words()}),
        "phrase": lambda: ({"q": phrase()}),
        "filtered": lambda: ({"q": word(), "kind": "question", "theme": rng.choice(theme_slugs)}),
        "most words": lambda: ({"q": most_words()}),
    }
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    with app.test_request_context("/nl/search"):
        backend = get_backend()
        # Every query measured in full: a word drawn twice must not come from what the app
        # keeps for a repeated search (results per index, marked snippets).
        if hasattr(backend, "results_kept"):
            backend.results_kept = 0
        search_service.SNIPPETS_KEPT = 0
        # Warm up: per-segment arrays and spelling dictionaries are built once per segment.
        for warm in ("armoede", "pauvreté"):
            search_threads(None, params_from(MultiDict({"q": warm})))
        if not args.cold:
            # What a web worker loads before its first request (forum/warmup.py): analysis
            # data, the frequent words' postings, templates and catalogs.
            from forum.warmup import warm as warm_worker

            c = time.process_time()
            seconds = warm_worker(app)
            print(f"Worker warm-up (forum/warmup.py): {seconds:.2f} s (CPU {time.process_time() - c:.2f} s), "
                  f"{backend._postings.compact_size if hasattr(backend, '_postings') else 0} postings read")
        print(f"\nQueries ({args.queries} per category, anonymous reader, words of frequency rank {low}-{high}; "
              "app = search_threads with permission filter, facets, grouping per thread, database check, "
              "highlights; bare = the same whoosh query object, top 10, nothing else)")
        print(f"{'category':<13} {'app median':>10} {'app p95':>8} {'bare median':>11} {'bare p95':>9} "
              f"{'ratio p95':>9} {'threads':>8}   {'cpu: app p95':>12} {'bare p95':>8} {'ratio':>6}")
        for name, make in categories.items():
            app_times, bare_times, hits = [], [], []
            app_cpu, bare_cpu = [], []  # process CPU time: what the machine's other load does not inflate
            for _ in range(args.queries):
                q_args = make()
                params = params_from(MultiDict(q_args))
                if profiler:
                    profiler.enable()
                t, c = time.perf_counter(), time.process_time()
                outcome = search_threads(None, params)
                app_times.append((time.perf_counter() - t) * 1000)
                app_cpu.append((time.process_time() - c) * 1000)
                if profiler:
                    profiler.disable()
                hits.append(outcome.total)
                # The bare engine: the very query object the app runs, top 10 only.
                parsed = parse(params.q)
                parsed.mode = outcome.matched  # the query the app ran last
                searcher = backend.bare_searcher()
                q, _covering = backend.build_query(parsed, searcher, [])
                t, c = time.perf_counter(), time.process_time()
                if q is not None:
                    searcher.search(q, limit=10)
                bare_times.append((time.perf_counter() - t) * 1000)
                bare_cpu.append((time.process_time() - c) * 1000)
            print(f"{name:<13} {statistics.median(app_times):>8.1f}ms {pct(app_times, 95):>6.1f}ms "
                  f"{statistics.median(bare_times):>9.1f}ms {pct(bare_times, 95):>7.1f}ms "
                  f"{pct(app_times, 95) / max(pct(bare_times, 95), 0.001):>8.2f}x {statistics.median(hits):>8.0f}   "
                  f"{pct(app_cpu, 95):>10.1f}ms {pct(bare_cpu, 95):>6.1f}ms "
                  f"{pct(app_cpu, 95) / max(pct(bare_cpu, 95), 0.001):>5.2f}x")

        # "Did you mean": a misspelt word (the app asks only when a query finds little).
        times = []
        for _ in range(args.queries // 2 or 1):
            w = rng.choice(query_words["nl"])
            if len(w) < 6:
                continue
            i = rng.randint(1, len(w) - 2)
            typo = w[:i] + w[i + 1] + w[i] + w[i + 2:]
            t = time.perf_counter()
            backend.suggest([typo])
            times.append((time.perf_counter() - t) * 1000)
        if times:
            print(f"\n'Did you mean' lookup: median {statistics.median(times):.1f} ms, p95 {pct(times, 95):.1f} ms")
    print(f"Load average at the end: {os.getloadavg()[0]:.1f}")
    if profiler:
        profiler.dump_stats(args.profile)
    if not args.keep:
        with app.app_context():
            db.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("AGORA_SEARCH_BACKEND", "whoosh")
    main()
