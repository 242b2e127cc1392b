"""Checks the blind relevance set: refs exist, category minimums, cross-language purity."""
import collections
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).parent
MINIMUM = {"inflection": 30, "compound_split": 22, "compound_join": 18, "cross_nl_fr": 22,
           "cross_fr_nl": 22, "phrase_exclusion": 20, "misspelling": 20}


def read_queries(path):
    """Rows of queries.tsv as dicts; plain tab split because queries contain double quotes."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:] if line.strip()]


def find_problems():
    """(counts per (category, language), list of problems) for the set as it is on disk."""
    threads = {}
    for name in ("corpus_nl.json", "corpus_fr.json"):
        for thread in json.loads((HERE / name).read_text(encoding="utf-8"))["threads"]:
            threads[thread["ref"]] = thread["language"]
    problems = []
    counts = collections.Counter()
    seen = set()
    for row in read_queries(HERE / "queries.tsv"):
        qid, category, language = row["id"], row["category"], row["language"]
        if qid in seen:
            problems.append(f"{qid}: duplicate id")
        seen.add(qid)
        if category not in MINIMUM:
            problems.append(f"{qid}: unknown category {category!r}")
        refs = [r for r in row["relevant"].split(",") if r]
        if not refs:
            problems.append(f"{qid}: no relevant thread")
        for ref in refs:
            if ref not in threads:
                problems.append(f"{qid}: unknown thread {ref}")
        # A cross-language query only has answers in the other language.
        if category.startswith("cross_"):
            other = "fr" if category == "cross_nl_fr" else "nl"
            if language == other or any(threads.get(r) != other for r in refs):
                problems.append(f"{qid}: cross-language query with a same-language answer")
        counts[category, language] += 1
    for category, minimum in MINIMUM.items():
        total = sum(n for (c, _), n in counts.items() if c == category)
        if total < minimum:
            problems.append(f"{category}: {total} queries, at least {minimum} needed")
    return counts, problems


def main():
    counts, problems = find_problems()
    for (category, language), n in sorted(counts.items()):
        print(f"{category:17} {language}  {n}")
    print(f"queries: {sum(counts.values())}")
    for problem in problems:
        print("PROBLEM", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
