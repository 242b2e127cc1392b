"""The blind evaluation set (tests/data/relevance) on this run's engine: recall@3 floors per category.

The floors are what search reached when they were set (bench/relevance.py prints the
figures), rounded down a little; raise them when search gets better, never lower them to
let a change through. The set's expected answers are not to be edited to fit results.
"""
import pytest

from tests.conftest import ON_POSTGRES, TEST_SEARCH_BACKEND
from tests.relevance import evaluate, load_queries

FLOORS = {
    "inflection": 0.96,
    "compound_split": 0.96,
    "compound_join": 0.95,
    "cross_nl_fr": 0.96,
    "cross_fr_nl": 0.95,
    "phrase_exclusion": 0.95,
    "misspelling": 0.95,
    "all": 0.97,
}
MAX_EMPTY = 0  # queries with a relevant thread that answer nothing


@pytest.fixture
def evaluation_database(request):
    if not ON_POSTGRES:
        return None
    databases = request.getfixturevalue("postgres_databases")
    return databases.empty(f"{databases.url.database}_evaluation")


def test_evaluation_set_stays_above_its_floors(evaluation_database):
    if TEST_SEARCH_BACKEND == "postgres" and not ON_POSTGRES:
        pytest.skip("the PostgreSQL search engine needs AGORA_TEST_DATABASE_URL")
    result = evaluate(TEST_SEARCH_BACKEND, load_queries(), database_url=evaluation_database)
    summary = result["summary"]
    below = {c: round(summary[c]["recall3"], 2) for c, floor in FLOORS.items() if summary[c]["recall3"] < floor}
    assert below == {}, f"recall@3 below its floor: {below}; misses: " + "; ".join(
        f"{m['id']} {m['query']!r} got {m['got'][:3]}" for m in result["misses"])
    assert summary["all"]["empty"] <= MAX_EMPTY
