"""The blind relevance set in tests/data/relevance: both corpus files import, the queries are sound."""
import importlib.util
from pathlib import Path

from forum.extensions import db
from forum.models import Thread

SET = Path(__file__).parent / "data" / "relevance"


def load_checker():
    spec = importlib.util.spec_from_file_location("check_set", SET / "check_set.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_both_corpus_files_import_into_one_site(app, runner):
    nl = runner.invoke(args=["forum", "import", str(SET / "corpus_nl.json")])
    assert nl.exit_code == 0, nl.output
    assert "Imported: 10 themes, 11 organisations, 22 users, 120 threads, 264 posts" in nl.output
    fr = runner.invoke(args=["forum", "import", str(SET / "corpus_fr.json")])
    assert fr.exit_code == 0, fr.output
    assert "Imported: 10 themes, 10 organisations, 20 users, 100 threads, 209 posts" in fr.output
    with app.app_context():
        languages = db.session.execute(db.select(Thread.import_ref, Thread.language)).all()
    assert sum(1 for ref, lang in languages if ref.startswith("ev-nl-") and lang == "nl") == 120
    assert sum(1 for ref, lang in languages if ref.startswith("ev-fr-") and lang == "fr") == 100


def test_queries_name_existing_threads_and_fill_every_category():
    counts, problems = load_checker().find_problems()
    assert problems == []
    assert sum(counts.values()) >= 160
