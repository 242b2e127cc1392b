"""The blind evaluation set of search (tests/data/relevance/): load, import, index, query, score.

Shared by bench/relevance.py (the figures) and tests/test_search_evaluation.py (a floor they
must not fall below). Queries go through GET /api/v1/search as a signed-in member.
"""
import csv
import re
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "relevance"
CATEGORIES = ("inflection", "compound_split", "compound_join", "cross_nl_fr", "cross_fr_nl",
              "phrase_exclusion", "misspelling")
PASSWORD = "Evaluatie-2026-zoeken"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def load_queries():
    with open(DATA / "queries.tsv", encoding="utf-8", newline="") as f:
        rows = [row for row in csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t", quoting=csv.QUOTE_NONE)]
    for row in rows:
        row["relevant"] = [ref.strip() for ref in row["relevant"].split(",") if ref.strip()]
    return rows


def corpus_files():
    return sorted(DATA.glob("corpus_*.json"))


def build_app(engine, instance, database_url=None):
    """A fresh app on the evaluation corpus, indexed; returns (app, thread ref → id)."""
    from forum import create_app
    from forum.extensions import db
    from forum.io.importer import import_data, load_file
    from forum.models import Thread, User
    from search.indexing import rebuild

    config = {"INSTANCE_PATH": str(instance), "SECRET_KEY": "relevance", "TESTING": True,
              "SEARCH_BACKEND": engine, "PASSWORD_HASH_METHOD": "scrypt:4096:8:1",
              "RATELIMIT_ENABLED": False}
    if database_url:
        config["SQLALCHEMY_DATABASE_URI"] = database_url
    app = create_app(config)
    with app.app_context():
        if database_url:
            from flask_migrate import upgrade
            db.drop_all()
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            upgrade()
        else:
            db.create_all()
        for path in corpus_files():
            import_data(load_file(path), base_dir=path.parent)
        rebuild()
        reader = db.session.scalars(db.select(User).where(User.role == "member").order_by(User.id)).first()
        reader.set_password(PASSWORD)
        db.session.commit()
        email = reader.email
        refs = {ref: tid for ref, tid in db.session.execute(db.select(Thread.import_ref, Thread.id)) if ref}
    return app, refs, email


def _signed_in_client(app, email):
    client = app.test_client()
    token = CSRF_META.search(client.get("/nl/login").get_data(as_text=True)).group(1)
    response = client.post("/nl/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, "the evaluation reader could not sign in"
    return client


def evaluate(engine, queries, database_url=None):
    """Run every query; per category: recall@3, MRR over the first page (10 threads), queries answering nothing."""
    with tempfile.TemporaryDirectory(prefix="agora-relevance-") as tmp:
        app, refs, email = build_app(engine, Path(tmp) / "instance", database_url)
        client = _signed_in_client(app, email)
        ids_to_refs = {tid: ref for ref, tid in refs.items()}
        per_query = []
        for q in queries:
            answer = client.get("/api/v1/search", query_string={"q": q["query"], "ui": q["language"],
                                                                 }).get_json()
            got = []
            for item in answer.get("results", []):
                ref = ids_to_refs.get(item["thread_id"])
                if ref not in got:
                    got.append(ref)
            relevant = set(q["relevant"])
            rank = next((i for i, ref in enumerate(got, 1) if ref in relevant), None)
            per_query.append({**q, "got": got, "rank": rank, "total": answer.get("total", 0),
                              "matched": answer.get("matched")})
        with app.app_context():
            from forum.extensions import db
            db.session.remove()
            db.engine.dispose()
    summary = summarise(per_query)
    misses = [r for r in per_query if not (r["rank"] and r["rank"] <= 3)]
    return {"summary": summary, "misses": misses, "per_query": per_query, "threads": len(refs)}


def summarise(per_query):
    """Per category and "all": queries, hits in the top 3, recall@3, MRR, empty answers."""
    summary = {}
    for category in CATEGORIES + ("all",):
        rows = [r for r in per_query if category == "all" or r["category"] == category]
        if not rows:
            continue
        hits = sum(1 for r in rows if r["rank"] and r["rank"] <= 3)
        summary[category] = {
            "queries": len(rows), "hits": hits, "recall3": hits / len(rows),
            "mrr": sum(1 / r["rank"] for r in rows if r["rank"]) / len(rows),
            "empty": sum(1 for r in rows if r["total"] == 0),
        }
    return summary


def half(per_query, parity):
    """The odd-numbered (tuning) or even-numbered (held-out) queries: q001 is odd."""
    return [r for r in per_query if int(r["id"].lstrip("q")) % 2 == (1 if parity == "odd" else 0)]
