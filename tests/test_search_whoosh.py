"""The Whoosh engine's package (search/whoosh/): Whoosh's private structures are used in
internals.py only, which refuses an unknown Whoosh version; and the paths meant for big
indexes (own scoring, whoosh's collector above OWN_SCORING_DOCS, the candidate cut above
OWN_TOP_CANDIDATES, phrase narrowing above PHRASE_CHECK_DIRECT, pairs of frequent terms
from COMMON_MIN_TEXTS texts) are forced on a small index by lowering those constants in
search/tuning.py, and their rankings are compared with whoosh's own collector
(searcher.search with limit=None, grouped per thread here).

Whoosh only: the PostgreSQL engine has none of these structures.
"""
import ast
import json
import random
import subprocess
import sys
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest
from whoosh import query as Q

from search import tuning

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "search" / "whoosh"


# -- private access: internals.py only -------------------------------------------------------

def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(path):
    """["line: what"] for every use of a private Whoosh name in a module: an attribute
    starting with "_" of anything but our own objects (self/cls of a class that does not
    extend a Whoosh class), a private name or module imported from whoosh, or Whoosh's
    codec (its classes are the on-disk format)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    from_whoosh = set()
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "whoosh":
            parts = node.module.split(".")
            for alias in node.names:
                from_whoosh.add(alias.asname or alias.name)
                if _private(alias.name) or any(map(_private, parts)) or "codec" in parts + [alias.name]:
                    problems.append(f"{node.lineno}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "whoosh":
                    from_whoosh.add(alias.asname or parts[0])
                    if any(map(_private, parts)) or "codec" in parts:
                        problems.append(f"{node.lineno}: import {alias.name}")

    def root(expr):
        while isinstance(expr, ast.Attribute):
            expr = expr.value
        return expr.id if isinstance(expr, ast.Name) else None

    def visit(node, in_whoosh_class):
        if isinstance(node, ast.ClassDef):
            in_whoosh_class = any(root(base) in from_whoosh for base in node.bases)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "setattr", "hasattr") and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant) and _private(str(node.args[1].value))):
            problems.append(f"{node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.Attribute) and _private(node.attr):
            own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls") and not in_whoosh_class
            if not own:
                problems.append(f"{node.lineno}: {ast.unparse(node)}")
        for child in ast.iter_child_nodes(node):
            visit(child, in_whoosh_class)

    visit(tree, False)
    return problems


def test_only_internals_touches_whoosh_private_structures():
    modules = sorted(PACKAGE.glob("*.py"))
    assert {p.name for p in modules} >= {"backend.py", "internals.py", "matching.py", "scoring.py", "translate.py"}
    found = {p.name: private_uses(p) for p in modules if p.name != "internals.py"}
    assert found == {name: [] for name in found}
    # The scan does see them where they are.
    seen = "\n".join(private_uses(PACKAGE / "internals.py"))
    for name in ("m._data", "m._next_block", "'_perdoc'", "ix._segments", "W3PerDocReader._cached_reader"):
        assert name in seen, name
    # Elsewhere in the project: no import of whoosh's codec or private names, no mention
    # of the old single module.
    for path in [*ROOT.glob("*.md"), *ROOT.glob("*.cfg"), *(p for d in ("search", "bench", "forum", "tests")
                                                           for p in (ROOT / d).rglob("*.py"))]:
        source = path.read_text()
        if path.suffix == ".py" and PACKAGE not in path.parents:
            assert [u for u in private_uses(path) if "import" in u] == [], path
        assert "whoosh_" + "backend" not in source, path


def test_unknown_whoosh_version_fails_loudly():
    from search.whoosh import internals

    assert internals.check_version() in internals.KNOWN_VERSIONS
    with pytest.raises(internals.UnknownWhooshVersion, match="2.8.0 is installed"):
        internals.check_version((2, 8, 0))
    # At import, before any index is read.
    run = subprocess.run(
        [sys.executable, "-c", "import whoosh; whoosh.__version__ = (2, 8, 0); import search.whoosh"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "UnknownWhooshVersion" in run.stderr and "2.8.0 is installed" in run.stderr


def test_the_pinned_whoosh_is_the_known_one():
    from search.whoosh.internals import KNOWN_VERSIONS

    pinned = [line.strip() for line in (ROOT / "setup.cfg").read_text().splitlines()
              if line.strip().startswith("whoosh-reloaded")]
    assert pinned == ["whoosh-reloaded==2.7.5"]
    assert tuple(map(int, installed_version("whoosh-reloaded").split("."))) in KNOWN_VERSIONS


# -- the big-index paths on a small index ----------------------------------------------------

VOCABULARY = ("armoede gemeente wijk budget buurt vervoer taxi bus school ouders jeugd zorg huur kosten "
              "advies raad leden inkomen werk taal loket hulp plan").split()


@pytest.fixture
def app_config(app_config):
    return dict(app_config, SEARCH_BACKEND="whoosh")


@pytest.fixture
def corpus(app, make_theme, make_thread, make_post, runner):
    """40 threads of random sentences from a small vocabulary (so scores spread and many
    documents match), a third with a reply, a quarter in a members-only theme; plus posts
    with Dutch compounds next to frequent words."""
    app.config["PREMODERATE_FIRST_POSTS"] = 0
    app.config["RATELIMIT_ENABLED"] = False
    public = make_theme(visibility="public", slug="open", name_nl="Open", name_fr="Ouvert")
    members = make_theme(visibility="members", slug="leden", name_nl="Leden", name_fr="Membres")
    rng = random.Random(13)

    def text(n):
        return " ".join(rng.choice(VOCABULARY) for _ in range(n)) + "."

    for i in range(40):
        thread = make_thread(theme=members if i % 4 == 3 else public, title=text(rng.randint(2, 5)).capitalize(),
                             body=text(rng.randint(5, 40)))
        if i % 3 == 0:
            make_post(thread, body=text(rng.randint(5, 30)))
    # "aanpassing aanvragen" is a phrase of this text only through a compound part
    # (woningaanpassing: woning, aanpassing at the compound's position).
    make_thread(theme=public, title="Een woningaanpassing aanvragen", body="Wie kan een woningaanpassing aanvragen?")
    for i in range(6):
        make_thread(theme=public, title=f"Een aanpassing aanvragen {i}", body=text(8) + " aanpassing aanvragen")
    result = runner.invoke(args=["search", "sync"])
    assert result.exit_code == 0, result.output


def visibility_filter(visibilities):
    return Q.Or([Q.Term("visibility", v) for v in visibilities])


def masked_hits(searcher, q, allow):
    """Whoosh's hits for the engine's query; a negative query as its positive part masked by
    the negative one, with the positive part's scores (as AndNot scores): whoosh's AndNot
    matcher lets some documents holding the excluded word through, depending on the
    documents' order (test_negative_words_exclude_their_documents_whatever_the_document_order)."""
    if isinstance(q, Q.AndNot):
        return searcher.search(q.a, limit=None, filter=allow, mask=q.b)
    return searcher.search(q, limit=None, filter=allow)


def stock_keys(backend, parsed, visibilities):
    """{thread: ranking key} from whoosh's own collector over the engine's query: the best
    post's score per thread; in "most" mode (words covered, score)."""
    searcher = backend.bare_searcher()
    q, covering = backend.build_query(parsed, searcher, [])
    allow = visibility_filter(visibilities)
    tnum = searcher.reader().column_reader("tnum")
    best = {}
    for hit in masked_hits(searcher, q, allow):
        t = tnum[hit.docnum]
        best[t] = max(best.get(t, 0.0), hit.score)
    if covering is None:
        return {t: round(s, 6) for t, s in best.items()}
    covered = dict.fromkeys(best, 0)
    for node in covering:
        for t in {tnum[d] for d in searcher.search(node, limit=None, filter=allow).docs()}:
            covered[t] += 1
    return {t: (covered[t], round(s, 6)) for t, s in best.items()}


def engine_pages(backend, parsed, visibilities, per_page, pages=4):
    from search.backend import SearchRequest

    hits = []
    total = None
    for page in range(1, pages + 1):
        result = backend.query(SearchRequest(parsed=parsed, visibilities=visibilities, page=page,
                                             per_page=per_page, facets=False))
        assert not result.timed_out
        total = result.total
        hits += result.hits
        if page >= result.pages:
            break
    return hits, total


def assert_same_ranking(backend, text, visibilities, per_page=2, most=False):
    """The engine's first pages rank threads as whoosh's collector does (ties in any order)."""
    from search.query import parse

    parsed = parse(text)
    if most:
        parsed.mode = "most"
    reference = stock_keys(backend, parsed, visibilities)
    assert len(reference) > per_page, text  # more than one page: the order matters
    hits, total = engine_pages(backend, parsed, visibilities, per_page)
    if total != len(reference):
        # Say what differed (once, whoosh's AndNot matcher let an excluded document
        # through for PostgreSQL's order of the rows: stock_keys masks negatives since).
        found = {h.thread_id for h in engine_pages(backend, parsed, visibilities, per_page, pages=100)[0]}
        searcher = backend.bare_searcher()
        q, _covering = backend.build_query(parsed, searcher, [])
        tnum, pnum = (searcher.reader().column_reader(name) for name in ("tnum", "pnum"))
        missing = sorted(set(reference) - found)
        docs = [(pnum[d], tnum[d]) for d in searcher.search(q, limit=None).docs() if tnum[d] in missing]
        raise AssertionError(f"{text}: engine total {total}, whoosh {len(reference)}; threads only whoosh "
                             f"found: {missing} (post, thread: {docs}); query {q!r}; segments "
                             f"{[(leaf.seg.key, leaf.reader.doc_count_all()) for leaf in backend._leaf_list(searcher)]}")
    threads = [h.thread_id for h in hits]
    assert len(set(threads)) == len(threads), text
    expected = sorted(reference.values(), reverse=True)[:len(hits)]
    assert [reference[t] for t in threads] == expected, text
    if not most:
        assert [round(h.score, 6) for h in hits] == expected, text
    return hits


QUERIES = ("armoede", "gemeente wijk", "huur kosten", '"wijk budget"', '"raad leden" advies', "zorg -jeugd", "bus*")


def test_own_scoring_and_whoosh_collector_rank_as_whoosh_does(app, corpus, monkeypatch):
    from search.backend import get_backend
    from search.query import parse

    with app.app_context():
        backend = get_backend()
        searcher = backend.bare_searcher()
        matching = [len(searcher.search(backend.build_query(parse(text), searcher, [])[0], limit=None))
                    for text in QUERIES]
        assert max(matching) > 4 * 3  # documents: enough for the candidate cut below (3 candidates) to apply
        for visibilities in (("public",), ("public", "members")):
            for text in QUERIES:
                # Own scoring (the default below OWN_SCORING_DOCS).
                assert_same_ranking(backend, text, visibilities)
                with monkeypatch.context() as m:
                    # Whoosh's collector, as above OWN_SCORING_DOCS matching documents.
                    m.setattr(tuning, "OWN_SCORING_DOCS", 0)
                    assert_same_ranking(backend, text, visibilities)
                with monkeypatch.context() as m:
                    # Own scoring of the best few documents only, as above 4 x OWN_TOP_CANDIDATES.
                    m.setattr(tuning, "OWN_TOP_CANDIDATES", 3)
                    assert_same_ranking(backend, text, visibilities, per_page=2)
                with monkeypatch.context() as m:
                    # Phrases narrowed by their words' sets and scored from whole posting
                    # lists, as for more than PHRASE_CHECK_DIRECT candidates.
                    m.setattr(tuning, "PHRASE_CHECK_DIRECT", 1)
                    backend._postings.clear()
                    assert_same_ranking(backend, text, visibilities)
                backend._postings.clear()


def test_postings_built_again_from_their_compact_copy_rank_the_same(app, corpus):
    """A term whose set leaves the posting cache keeps its ids and weights (segments.py,
    PostingCache); the set built again from them must give the same pages and scores."""
    from search.backend import get_backend
    from search.whoosh.segments import PostingCache

    with app.app_context():
        backend = get_backend()
        backend._postings = PostingCache(budget=1)  # every set but the last goes out at once
        try:
            for _round in range(2):  # first from the index, then from the compact copies
                for text in QUERIES:
                    assert_same_ranking(backend, text, ("public", "members"))
            assert len(backend._postings.compact) >= 10
            assert backend._postings.compact_size <= backend._postings.compact_budget
        finally:
            backend._postings = PostingCache()


def reference_threads(searcher, q, visibilities):
    """The threads of `q`, negatives masked (masked_hits)."""
    tnum = searcher.reader().column_reader("tnum")
    return {tnum[d] for d in masked_hits(searcher, q, visibility_filter(visibilities)).docs()}


def test_negative_words_exclude_their_documents_whatever_the_document_order(app, corpus, monkeypatch):
    """For some orders of the documents in a segment, whoosh's AndNot matcher lets through
    documents that hold the excluded word (seeded shuffles of this corpus show it). The
    engine takes a negative query's documents from its own set difference on every path,
    whoosh's collector path (above OWN_SCORING_DOCS) included."""
    from forum.extensions import db
    from search.backend import get_backend
    from search.indexing import _load, indexable_posts, post_document
    from search.query import parse

    with app.app_context():
        backend = get_backend()
        docs = [post_document(p) for p in db.session.scalars(_load(indexable_posts()))]
        leaked = 0  # orders in which whoosh's own AndNot let an excluded document through
        for seed in range(40):
            order = docs[:]
            random.Random(seed).shuffle(order)
            with backend.batch(wait=5) as batch:  # every document again, in this order
                for doc in order:
                    batch.delete("post_id", doc["post_id"])
                    batch.add(doc)
            parsed = parse("zorg -jeugd")
            searcher = backend.bare_searcher()
            q, _covering = backend.build_query(parsed, searcher, [])
            for visibilities in (("public",), ("public", "members")):
                expected = reference_threads(searcher, q, visibilities)
                tnum = searcher.reader().column_reader("tnum")
                stock = searcher.search(q, limit=None, filter=visibility_filter(visibilities)).docs()
                leaked += bool({tnum[d] for d in stock} - expected)
                for own_scoring_docs in (tuning.OWN_SCORING_DOCS, 0):
                    with monkeypatch.context() as m:
                        m.setattr(tuning, "OWN_SCORING_DOCS", own_scoring_docs)
                        hits, total = engine_pages(backend, parsed, visibilities, per_page=50, pages=1)
                    assert {h.thread_id for h in hits} == expected, (seed, visibilities, own_scoring_docs)
                    assert total == len(expected)
        # The orders above do show the whoosh fault (whoosh-reloaded 2.7.5); should a new
        # version mend it, this test no longer exercises it: keep it or drop it then.
        assert leaked, "whoosh's AndNot no longer lets excluded documents through in these orders"


def test_phrases_of_frequent_words_use_pairs_and_find_compound_parts(app, corpus, runner, monkeypatch):
    """With pairs of frequent terms (COMMON_MIN_TEXTS texts and more), a phrase of two such words
    finds the same threads as their positions do, including a compound's part next to a word."""
    from search.backend import SearchRequest, get_backend
    from search.query import parse

    monkeypatch.setattr(tuning, "COMMON_MIN_TEXTS", 10)
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        backend = get_backend()
        backend.bare_searcher()
        common = json.loads((backend.path / backend._name / "COMMON.json").read_text())
        assert common["part_pairs"] and {"aanpass", "aanvrag", "wijk", "budget"} <= set(common["nl"])
        for visibilities in (("public",), ("public", "members")):
            for text in ('"aanpassing aanvragen"', '"wijk budget"', '"raad leden" advies'):
                assert_same_ranking(backend, text, visibilities)
                with monkeypatch.context() as m:
                    m.setattr(tuning, "OWN_SCORING_DOCS", 0)
                    assert_same_ranking(backend, text, visibilities)
        found = backend.query(SearchRequest(parsed=parse('"aanpassing aanvragen"'), per_page=20, facets=False))
        assert found.total == 7  # the six that write it, and the woningaanpassing
        # Pairs written before they held compound parts: not used, and the index is stale.
        path = backend.path / backend._name / "COMMON.json"
        path.write_text(json.dumps({k: v for k, v in common.items() if k != "part_pairs"}))
        backend._common.clear()
        assert backend.status()["stale"]
        assert backend.query(SearchRequest(parsed=parse('"aanpassing aanvragen"'), facets=False)).total == 7
    result = runner.invoke(args=["search", "reindex", "--if-stale"])
    assert result.exit_code == 0 and "reindexing" in result.output, result.output
    with app.app_context():
        backend = get_backend()
        assert not backend.status()["stale"]
        assert json.loads((backend.path / backend._name / "COMMON.json").read_text())["part_pairs"]


FILLER = "vergadering verslag agenda notulen " * 12


def open_theme(app, make_theme):
    app.config["PREMODERATE_FIRST_POSTS"] = 0
    app.config["RATELIMIT_ENABLED"] = False
    return make_theme(visibility="public", slug="open", name_nl="Open", name_fr="Ouvert")


def sync_index(runner):
    result = runner.invoke(args=["search", "sync"])
    assert result.exit_code == 0, result.output


def test_most_words_cut_keeps_the_threads_covering_most_words(app, make_theme, make_thread, runner, monkeypatch):
    """ "Most words" ranks threads by the words they cover, then by score; the candidate cut
    for big result sets must keep that order (cut by score alone, it dropped a thread
    covering two words whose posts score below many covering one)."""
    from search.backend import get_backend

    theme = open_theme(app, make_theme)
    make_thread(theme=theme, title="Verslag van de vergadering", body=f"{FILLER} kano tulp {FILLER}")
    for i in range(30):
        make_thread(theme=theme, title=f"Molen {i}", body="molen molen")
    sync_index(runner)
    with app.app_context():
        backend = get_backend()
        for candidates in (tuning.OWN_TOP_CANDIDATES, 2):
            with monkeypatch.context() as m:
                m.setattr(tuning, "OWN_TOP_CANDIDATES", candidates)
                hits = assert_same_ranking(backend, "kano tulp molen", ("public",), per_page=2, most=True)
                assert hits[0].score > 2  # the thread covering two of the three words comes first


def test_most_words_pages_score_only_threads_covering_enough_words(app, make_theme, make_thread, runner):
    """In "most" mode only the threads covering as many words as the page's last thread are
    scored (search/whoosh/scoring.py, _most_covered); every page must still rank as whoosh's
    collector does: threads covering three words (weak posts) before those covering two,
    before many covering one with strong posts, including the pages where the levels meet."""
    from search.backend import get_backend

    theme = open_theme(app, make_theme)
    for i in range(3):
        make_thread(theme=theme, title=f"Verslag {i}", body=f"{FILLER} kano tulp molen {FILLER}")
    for i in range(5):
        make_thread(theme=theme, title=f"Uitstap {i}", body=f"kano tulp {FILLER}")
    for i in range(12):
        make_thread(theme=theme, title=f"Molen {i}", body="molen molen")
    sync_index(runner)
    with app.app_context():
        backend = get_backend()
        for per_page in (2, 3, 4):
            hits = assert_same_ranking(backend, "kano tulp molen", ("public",), per_page=per_page, most=True)
            covered = [int(h.score) for h in hits]
            assert covered[:8] == [3, 3, 3, 2, 2, 2, 2, 2], per_page


def test_worker_warm_up_reads_the_frequent_words_postings(app, make_theme, make_thread, runner, client, monkeypatch):
    """forum/warmup.py has the backend read the most frequent words' postings before a
    worker's first request (search/whoosh/backend.py, warm): the most frequent first, up to
    POSTING_WARM; searches afterwards answer as a cold worker does."""
    from forum.warmup import warm
    from search.backend import get_backend
    from search.whoosh.segments import PostingCache

    with app.app_context():
        assert get_backend().warm() == 0  # no index yet: nothing to read, no error
    theme = open_theme(app, make_theme)
    for i in range(6):
        make_thread(theme=theme, title=f"Armoede in wijk {i}", body="Armoede en schulden in de wijk." * (i + 1))
    make_thread(theme=theme, title="Eenmalig", body="Een zeldzaam woord: kano.")
    sync_index(runner)

    def answers():
        return [client.get("/api/v1/search", query_string={"q": q}).get_json()["results"]
                for q in ("armoede", "kano", "schulden wijk")]

    cold = answers()
    monkeypatch.setattr(tuning, "TERM_SET_DOCS", 0)  # the test index's segments count as big
    monkeypatch.setattr(tuning, "POSTING_WARM", 20)
    with app.app_context():
        backend = get_backend()
        backend._postings = PostingCache()
        warm(app)
        kept = {(field, term): len(ids) for (_seg, field, term), (ids, _w) in backend._postings.compact.items()}
        reader = backend.bare_searcher().reader()
        frequency = {(field, term.decode()): reader.doc_frequency(field, term)
                     for field in ("text_nl", "text_fr", "title_nl", "title_fr") for term in reader.lexicon(field)}
        assert kept and all(kept[key] == frequency[key] for key in kept)
        assert sum(kept.values()) <= 20 < sum(kept.values()) + max(v for k, v in frequency.items() if k not in kept)
        # The most frequent first: no word left out is more frequent than a word read.
        assert min(kept.values()) >= max(v for k, v in frequency.items() if k not in kept)
        assert ("text_nl", "kano") not in kept  # rare: left for the first query that needs it
    assert answers() == cold
