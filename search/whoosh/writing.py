"""Writing: one writer transaction per batch, the drains' merge policy, rebuild beside the
live generation, and the frequent terms whose adjacent pairs are indexed (COMMON.json)."""
import fcntl
import json
import os
import re
import shutil
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from flask import has_request_context
from whoosh import index as whoosh_index
from whoosh.index import LockError
from whoosh.reading import SegmentReader

from .. import analysis
from .. import tuning
from ..backend import IndexBusy, RebuildRunning
from ..tuning import COMPOUND_MIN_WORD, DRAIN_MERGE_DOCS, MERGE_TIER_SEGMENTS, SMALL_SEGMENT_DOCS
from . import internals
from .schema import TITLE_PAIR


def merge_tiers(max_docs):
    """A merge policy for drains: segments are grouped in tiers by size (1-5 documents,
    6-35, 36-215, ...) and a tier is merged into one segment once it holds
    MERGE_TIER_SEGMENTS of them, so each document is rewritten a few times in its life,
    not at every drain. Merges that would write more than `max_docs` documents wait for
    a drain allowed bigger ones (`search sync`); the big segment of a rebuild is never
    rewritten here (`search reindex` does that)."""

    def policy(writer, segments, dry_run=False):
        tiers = {}
        for seg in segments:
            n = seg.doc_count_all()
            if n < SMALL_SEGMENT_DOCS:
                tier = 0
                while n >= MERGE_TIER_SEGMENTS:
                    n //= MERGE_TIER_SEGMENTS
                    tier += 1
                tiers.setdefault(tier, []).append(seg)
        merge = []
        for tier in sorted(tiers):
            group = tiers[tier]
            if len(group) >= MERGE_TIER_SEGMENTS and sum(s.doc_count_all() for s in group) <= max_docs:
                merge.extend(group)
        if not merge:
            return segments
        if dry_run:
            return [s for s in segments if s not in merge]
        for seg in merge:
            reader = SegmentReader(writer.storage, writer.schema, seg)
            writer.add_reader(reader)
            reader.close()
        return [s for s in segments if s not in merge]

    return policy


_TOKENS = re.compile(analysis.TOKEN_PATTERN)


def common_pairs(lang, text, common):
    """Adjacent pairs ("schuld hulp") of frequent terms at neighbouring positions of `text`,
    as the index writes them: with the compound parts and hyphen joins that share a word's
    position, so that a pair term finds exactly what the phrase's positions would."""
    if "-" in text:
        # Hyphen joins (sans-abri -> sansabri): the analyser's own positions.
        at = {}
        for token in analysis.analyzer(lang)(text, positions=True):
            if token.text in common:
                at.setdefault(token.pos, []).append(token.text)
        groups = [at.get(pos, ()) for pos in range(min(at, default=0), max(at, default=-1) + 1)]
    else:
        # Without hyphens a word's position holds its term and, for a Dutch compound, its
        # parts (analysis.FastAnalyzer.__call__); dropped words take no position. The same
        # positions at a quarter of the cost of running the analyser's token stream again.
        analyser = analysis.analyzer(lang)
        term = analyser.term
        parts = analyser.parts if lang == "nl" else None
        groups = []
        for word in _TOKENS.findall(text):
            t = term(word)
            if not t:
                continue
            group = [t] if t in common else []
            if parts is not None and len(word) >= COMPOUND_MIN_WORD:
                group += [p for p in parts(word) if p in common]
            groups.append(group)
    return [a + " " + b for first, following in zip(groups, groups[1:]) if first and following
            for a in first for b in following]


class Batch:
    """One writer transaction: deletions first, then additions, committed together.

    With `folder` and no common terms yet (a rebuild), the first COMMON_SAMPLE documents
    are held back to choose the frequent terms whose pairs are indexed (COMMON.json)."""

    def __init__(self, writer, journal=None, common=None, folder=None):
        self.writer = writer
        self.journal = journal
        self.recorded = []
        self.deletes = []
        self.docs = []
        self.touched = False
        self.common = common  # language -> frozenset of terms, or None
        self.folder = folder
        self.pairs = all(f"pairs_{lang}" in writer.schema for lang in analysis.LANGUAGES)

    def delete(self, fieldname, value):
        self.deletes.append((fieldname, str(value)))

    def add(self, doc):
        self.docs.append(doc)

    def record(self, object_type, object_id):
        self.recorded.append(f"{object_type}:{object_id}")

    def flush(self, final=False):
        if self.common is None and self.folder is not None:
            if len(self.docs) < tuning.COMMON_SAMPLE and not final:
                return  # still sampling
            self.common = choose_common(self.docs)
            write_common(self.folder, self.common)
        writer = self.writer
        self.touched = self.touched or bool(self.deletes or self.docs)
        for fieldname, value in dict.fromkeys(self.deletes):
            writer.delete_by_term(fieldname, value)
        common = self.common if self.pairs else None
        for doc in self.docs:
            fields = {k: v for k, v in doc.items() if v is not None and v != ""}
            if common:
                for lang in analysis.LANGUAGES:
                    if not common.get(lang):
                        continue
                    found = []
                    for fieldname, mark in ((f"text_{lang}", ""), (f"title_{lang}", TITLE_PAIR)):
                        if fields.get(fieldname):
                            found += [mark + p for p in common_pairs(lang, fields[fieldname], common[lang])]
                    if found:
                        fields[f"pairs_{lang}"] = ",".join(dict.fromkeys(found))
            writer.add_document(**fields)
        self.deletes, self.docs = [], []
        if self.journal is not None and self.recorded:
            with open(self.journal, "a", encoding="utf-8") as f:
                f.write("".join(line + "\n" for line in self.recorded))
        self.recorded = []


def choose_common(docs):
    """{language: frequent terms} from sample documents (none for a small sample)."""
    out = {}
    for lang in analysis.LANGUAGES:
        texts = [d.get(f"text_{lang}") for d in docs if d.get(f"text_{lang}")]
        if len(texts) < tuning.COMMON_MIN_TEXTS:
            out[lang] = frozenset()
            continue
        df = Counter()
        for text in texts:
            df.update(set(analysis.terms(lang, text)))
        least = tuning.COMMON_SHARE * len(texts)
        out[lang] = frozenset(t for t, n in df.most_common(tuning.COMMON_MAX) if n >= least)
    return out


def write_common(folder, common):
    path = Path(folder) / "COMMON.json"
    tmp = path.with_suffix(".tmp")
    data = {lang: sorted(words) for lang, words in common.items()}
    data["title_pairs"] = True  # titles' pairs are indexed too (marked TITLE_PAIR)
    data["part_pairs"] = True  # pairs include compound parts and hyphen joins (common_pairs)
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def read_common(folder):
    try:
        data = json.loads((Path(folder) / "COMMON.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    out = {lang: frozenset(data.get(lang, ())) for lang in analysis.LANGUAGES}
    out["title_pairs"] = bool(data.get("title_pairs"))
    out["part_pairs"] = bool(data.get("part_pairs"))
    return out


class Writing:
    """Mixed into WhooshBackend (needs its layout: path, pointer, marker, journal)."""

    @contextmanager
    def _file_lock(self, name, blocking=True):
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / name, "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                raise RebuildRunning() from None
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    @staticmethod
    def _merge_budget():
        # A web request's drain keeps merges small; the job process and the CLI may
        # take on the bigger ones.
        return DRAIN_MERGE_DOCS if has_request_context() else SMALL_SEGMENT_DOCS

    def compact(self, wait=0.5):
        """Merge the tiers of small segments that request drains left for us (cheap when
        there is nothing to merge: no writer is opened then). Returns True if it merged."""
        ix = whoosh_index.open_dir(str(self.path / self._read_pointer()))
        policy = merge_tiers(self._merge_budget())
        segments = internals.index_segments(ix)
        if len(policy(None, segments, dry_run=True)) == len(segments):
            return False
        try:
            writer = ix.writer(timeout=wait, delay=0.05)
        except LockError:
            return False
        writer.commit(mergetype=policy)
        return True

    @contextmanager
    def batch(self, wait=0.5, merge_docs=None):
        deadline = time.monotonic() + wait
        while True:
            name = self._read_pointer()
            ix = whoosh_index.open_dir(str(self.path / name))
            try:
                writer = ix.writer(timeout=max(0.0, deadline - time.monotonic()), delay=0.05)
            except LockError:
                raise IndexBusy(name) from None
            # A reindex may have swapped generations while we waited for the lock.
            if self._read_pointer() == name:
                break
            writer.cancel()
        if "text_nl" not in writer.schema:
            writer.cancel()
            raise RuntimeError("the search index was built by an older version of Agora: "
                               "run `flask --app wsgi search reindex` once")
        journal = self.journal if self.marker.exists() else None
        batch = Batch(writer, journal, common=self.common_terms(name))
        try:
            yield batch
            batch.flush()
        except BaseException:
            writer.cancel()
            raise
        if batch.touched:
            writer.commit(mergetype=merge_tiers(merge_docs or self._merge_budget()))
        else:
            writer.cancel()

    def rebuild(self, fill, replay, wait=60.0):
        """Build generation n+1 beside the live one and swap it in; see the package doc."""
        with self._file_lock("rebuild.lock", blocking=False):
            self.ensure()
            old = self._read_pointer()
            name = f"index-{(self._generations() or [0])[-1] + 1}"
            folder = self.path / name
            folder.mkdir(parents=True)
            try:
                self.journal.write_text("")
                self.marker.write_text(name + "\n")
                ix = whoosh_index.create_in(str(folder), self.schema)
                # Plain files, not one compound file: whoosh reads a compound segment
                # through BytesIO copies of its parts, made again by every reader that
                # opens it (after each commit): ~100 ms per drain at 100,000 posts.
                writer = ix.writer(limitmb=256, compound=False)
                batch = Batch(writer, folder=folder)
                try:
                    fill(batch)
                    batch.flush(final=True)
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit()
                # Hold the live index's writer lock so no drain writes there while we
                # replay what drains wrote during the build, then swap.
                old_ix = whoosh_index.open_dir(str(self.path / old))
                lock = old_ix.lock("WRITELOCK")
                started = time.monotonic()
                while not lock.acquire(False):
                    if time.monotonic() - started > wait:
                        raise IndexBusy(old)
                    time.sleep(0.05)
                try:
                    keys = list(dict.fromkeys(self.journal.read_text().split()))
                    if keys:
                        writer = ix.writer()
                        batch = Batch(writer, common=read_common(folder))
                        replay(batch, keys)
                        batch.flush()
                        writer.commit(mergetype=merge_tiers(DRAIN_MERGE_DOCS))
                    self._write_pointer(name)
                finally:
                    lock.release()
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            finally:
                self.marker.unlink(missing_ok=True)
                self.journal.unlink(missing_ok=True)
            for n in self._generations()[:-2]:
                shutil.rmtree(self.path / f"index-{n}", ignore_errors=True)
            return name
