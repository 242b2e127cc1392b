"""The engine-neutral query plan (search/query.py) translated into a whoosh query tree."""
from whoosh import query as Q

from .. import analysis
from .. import query as query_plan
from ..tuning import (
    COMPOUND_BOOST, COMPOUND_SCAN, COMPOUND_SKIP_DOCS, COMPOUND_SKIP_SHARE, COMPOUND_TERMS, EXPANSION_BOOST,
    JOIN_BOOST, MAX_PREFIX_TERMS, MIN_COMPOUND_HEAD, SPLIT_BOOST, TITLE_BOOST,
)
from .schema import TEXT_FIELDS, TITLE_FIELD


class Or(Q.Or):
    """Or as a tree of union matchers always. whoosh otherwise preloads every match and
    score of a segment of up to 5,000 documents into arrays, clearing 2,048 slots per
    Or per segment in Python: milliseconds per query once drains leave small segments."""

    matcher_type = Q.Or.DEFAULT_MATCHER


def any_of(subs):
    """Or of the distinct queries (a glossary can name one translation twice), or None."""
    subs = list({repr(s): s for s in subs if s is not None}.values())
    if not subs:
        return None
    return Or(subs) if len(subs) > 1 else subs[0]


def sequence(fieldname, toks, boost):
    if not toks:
        return None
    if len(toks) == 1:
        return Q.Term(fieldname, toks[0], boost=boost)
    return Q.Phrase(fieldname, toks, boost=boost)


class Translate:
    """Query building, mixed into WhooshBackend (needs self._reader and self._compounds)."""

    def _word_query(self, word, phrase=False):
        per_language = {lang: analysis.terms(lang, word) for lang in analysis.LANGUAGES}
        if not phrase and not all(per_language.values()):
            # A stop word in either language (des, die, van ...) is left out, or every
            # French query with "des" would require a Dutch word "des", and vice versa.
            return None
        subs = []
        for lang in analysis.LANGUAGES:
            toks = per_language[lang]
            subs.append(sequence(f"text_{lang}", toks, 1.0))
            subs.append(sequence(f"title_{lang}", toks, TITLE_BOOST))
        if not phrase:
            subs.extend(self._compound_terms(analysis.terms("fold", word), COMPOUND_BOOST))
        subs = [s for s in subs if s is not None]
        return any_of(subs)

    def _compound_terms(self, ftoks, boost):
        """Dutch compounds that start with the word: schuld -> schuldhulpverlening.

        Why query-time prefixes and not an n-gram field: Dutch writes compounds as one
        word, so neither the term nor its stem equals the compound. An index-time field
        of word prefixes did the job but multiplied the postings of Dutch text about
        fourfold, which in pure-Python whoosh halved bulk indexing speed and grew the
        index. The term dictionary is sorted, so the compounds a word heads are one
        range scan away; we take the most frequent few (COMPOUND_TERMS) and weight them
        well below the word itself, so exact matches rank first. The choice is cached
        until the index changes.
        """
        if len(ftoks) != 1 or len(ftoks[0]) < MIN_COMPOUND_HEAD or self._reader is None:
            return []
        reader = self._reader
        stem = analysis.terms("nl", ftoks[0])
        if stem and reader.doc_frequency("text_nl", stem[0]) >= max(
                COMPOUND_SKIP_DOCS, COMPOUND_SKIP_SHARE * reader.doc_count()):
            # The word alone already finds a large share of the index: its compounds
            # would rank below all of that and only cost reading their postings.
            return []
        best = self._compounds.get(ftoks[0])
        if best is None:
            best = self._compounds[ftoks[0]] = self._find_compounds(ftoks[0])
        return [Q.Term("text_nl", t, boost=boost) for t in best]

    def _find_compounds(self, word):
        heads = {word}
        stem = analysis.terms("nl", word)
        if len(stem) == 1 and len(stem[0]) >= MIN_COMPOUND_HEAD:
            heads.add(stem[0])
        found = {}
        reader = self._reader
        for head in heads:
            for i, term in enumerate(reader.expand_prefix("text_nl", head)):
                if i >= COMPOUND_SCAN:
                    break
                text = term.decode("utf-8") if isinstance(term, bytes) else term
                if len(text) >= len(head) + 3 and text not in heads:
                    found[text] = reader.doc_frequency("text_nl", text)
        if len(self._compounds) > 5000:
            self._compounds.clear()
        return tuple(sorted(sorted(found, key=lambda t: -found[t])[:COMPOUND_TERMS]))

    @staticmethod
    def _prefix_query(prefix, searcher, notices):
        reader = searcher.reader()
        subs = []
        budget = MAX_PREFIX_TERMS
        for fieldname in TEXT_FIELDS:
            for term in reader.expand_prefix(fieldname, prefix):
                if budget <= 0:
                    if "wildcard_capped" not in notices:
                        notices.append("wildcard_capped")
                    break
                text = term.decode("utf-8") if isinstance(term, bytes) else term
                subs.append(Q.Term(fieldname, text))
                subs.append(Q.Term(TITLE_FIELD[fieldname], text, boost=TITLE_BOOST))
                budget -= 1
        return Or(subs) if subs else Q.NullQuery

    def _clause_query(self, clause, searcher, notices):
        if clause.kind == "prefix":
            return self._prefix_query(clause.text, searcher, notices)
        return self._word_query(clause.text, phrase=clause.kind == "phrase")

    def _expansion_query(self, expansion):
        subs = []
        for lang, text in expansion.targets:
            toks = analysis.terms(lang, text)
            if expansion.kind == "split":
                # A compound's parts anywhere in the text, ranked below the compound itself.
                parts = [Q.Term(f"text_{lang}", t, boost=SPLIT_BOOST) for t in toks]
                subs.append(Q.And(parts) if len(parts) > 1 else (parts[0] if parts else None))
                continue
            if expansion.kind == "join":
                # Two query words written as one compound: ranked below the words apart.
                subs.append(sequence(f"text_{lang}", toks, JOIN_BOOST))
                subs.append(sequence(f"title_{lang}", toks, JOIN_BOOST))
                continue
            # A phrase scores the sum of its words: a translation counts as one word.
            boost = EXPANSION_BOOST * expansion.weight / max(1, len(toks))
            subs.append(sequence(f"text_{lang}", toks, boost))
            subs.append(sequence(f"title_{lang}", toks, boost))
            if lang == "nl":
                subs.extend(self._compound_terms(analysis.terms("fold", text),
                                                 EXPANSION_BOOST * expansion.weight * COMPOUND_BOOST))
        return any_of(subs)

    def _concept_query(self, concept, groups):
        """A concept of the plan (search/query.py): its words, or any of its expansions."""
        if concept.parts:
            run = [self._concept_query(p, groups) for p in concept.parts]
        else:
            run = groups[concept.start:concept.end + 1]
        run = [g for g in run if g is not None]
        same = Q.And(run) if len(run) > 1 else (run[0] if run else None)
        alts = [self._expansion_query(e) for e in concept.expansions]
        return any_of(([same] if same is not None else []) + alts)

    def build_query(self, parsed, searcher, notices):
        """The engine query for a ParsedQuery (None when nothing searchable is left), and
        in "most" mode the per-word queries whose matches are counted (else None)."""
        self._reader = searcher.reader()
        groups = []
        for group in parsed.groups:
            alts = [q for q in (self._clause_query(c, searcher, notices) for c in group) if q is not None]
            groups.append(any_of(alts))
        covering = None
        if parsed.mode == "most":
            covering = []
            for i, expansions in enumerate(query_plan.covers(parsed)):
                if groups[i] is not None:
                    node = any_of([groups[i]] + [self._expansion_query(e) for e in expansions])
                    covering.append((i, node))
            must = [n for i, n in covering if i in query_plan.required(parsed)]
            may = [n for i, n in covering if i not in query_plan.required(parsed)]
            nodes = must + ([any_of(may)] if may else [])
            covering = [n for _i, n in covering]
        else:
            nodes = [q for q in (self._concept_query(c, groups) for c in query_plan.concepts(parsed))
                     if q is not None]
        if not nodes:
            return None, None
        q = Q.And(nodes) if len(nodes) > 1 else nodes[0]
        negs = [x for x in (self._clause_query(c, searcher, notices) for c in parsed.negatives) if x is not None]
        if negs:
            q = Q.AndNot(q, any_of(negs))
        return q, covering
