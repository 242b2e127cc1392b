"""Search relevance on the blind evaluation set (tests/data/relevance/), per category and engine.

    .venv/bin/python bench/relevance.py                       # Whoosh
    .venv/bin/python bench/relevance.py --database-url postgresql+psycopg://…   # both engines
    .venv/bin/python bench/relevance.py --misses               # also list every miss

Imports the evaluation corpus (Dutch and French threads that are neither the demo content nor
a test fixture) into a fresh instance, indexes it, signs in as one of its members and sends
each query of queries.tsv to GET /api/v1/search, as a member's browser would. Prints, per
category and per engine: recall@3 (a relevant thread among the first three threads), MRR (over
the first page of 10 threads) and the share of queries that answered nothing. The set was written
before anyone looked at search's answers to it (tests/data/relevance/README.md); do not edit
its expected answers after seeing results.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.relevance import CATEGORIES, evaluate, half, load_queries, summarise  # noqa: E402


def table(rows_by_engine):
    engines = list(rows_by_engine)
    head = "| category | queries | " + " | ".join(
        f"{e} recall@3 | {e} MRR | {e} nothing" for e in engines) + " |"
    lines = [head, "|" + "---|" * (2 + 3 * len(engines))]
    for category in CATEGORIES + ("all",):
        cells = []
        count = None
        for engine in engines:
            summary = rows_by_engine[engine]["summary"].get(category)
            if summary is None:
                cells.append("– | – | –")
                continue
            count = summary["queries"]
            cells.append(f"{summary['recall3']:.2f} ({summary['hits']}/{summary['queries']}) | "
                         f"{summary['mrr']:.2f} | {summary['empty']}")
        if count is not None:
            lines.append(f"| {category} | {count} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="also run the PostgreSQL engine on this (emptied) database")
    parser.add_argument("--misses", action="store_true", help="list every query without a relevant thread in the top 3")
    args = parser.parse_args()
    queries = load_queries()
    results = {"whoosh": evaluate("whoosh", queries)}
    if args.database_url:
        results["postgres"] = evaluate("postgres", queries, database_url=args.database_url)
    print(f"{len(queries)} queries, corpus of {results['whoosh']['threads']} threads")
    print(table(results))
    for parity, name in (("odd", "tuning half (odd-numbered queries)"), ("even", "held-out half (even-numbered queries)")):
        print(f"\n{name}:")
        print(table({engine: {"summary": summarise(half(result["per_query"], parity))}
                     for engine, result in results.items()}))
    if args.misses:
        for engine, result in results.items():
            print(f"\nMisses ({engine}):")
            for miss in result["misses"]:
                print(f"  [{miss['category']}] {miss['id']} {miss['query']!r} → wanted {miss['relevant']}, "
                      f"got {miss['got'][:3]} (total {miss['total']})")


if __name__ == "__main__":
    main()
