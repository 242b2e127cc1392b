"""Every use of Whoosh's private structures, in one place, for one known Whoosh version.

The rest of search/whoosh/ uses stock Whoosh APIs only (tests/test_search_whoosh.py scans
it). What is here is what stock Whoosh does too slowly for the speed aim (bench/search.py),
each with the stock call it replaces:

- posting blocks read whole (ids and weights of a term, a block at a time) instead of a
  Python call per posting (matcher.all_ids(), matcher.weight());
- numeric and length columns read as one byte string instead of a call per document
  (column_reader()[docnum], doc_field_length());
- BM25F's per-posting arithmetic (scorer._score) for the own scorer (scoring.py);
- the list of an index's segments (index._segments()) for the drains' merge policy;
- one method replaced at import: W3PerDocReader._cached_reader, which forgets that a field
  has no length column and stats the file again for every posting of every commit (half of
  bulk indexing time).

All of it is tied to Whoosh's codec "whoosh3" as whoosh-reloaded 2.7.5 writes it. On any
other version the import fails with a clear message (check_version) rather than reading
wrong numbers: read this module against the new version's source, then add it to
KNOWN_VERSIONS (and to the pin in setup.cfg).
"""
from array import array
from itertools import accumulate
from sys import byteorder

import whoosh
from whoosh import columns
from whoosh.codec import whoosh3
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

KNOWN_VERSIONS = ((2, 7, 5),)


class UnknownWhooshVersion(RuntimeError):
    pass


def check_version(version=None):
    """Fail loudly unless the installed Whoosh is one whose internals this module was read against."""
    version = tuple(whoosh.__version__ if version is None else version)[:3]
    if version not in KNOWN_VERSIONS:
        known = ", ".join(".".join(map(str, v)) for v in KNOWN_VERSIONS)
        raise UnknownWhooshVersion(
            f"search/whoosh/internals.py reads private structures of whoosh-reloaded {known}, but "
            f"{'.'.join(map(str, version))} is installed: install the pinned version "
            f"(pip install -e .) or check the module against the new version and add it to KNOWN_VERSIONS")
    return version


check_version()


# -- the one replaced method ---------------------------------------------------------------

def _cached_reader(self, fieldname, column):
    # whoosh's version forgets that a field has no length column and stats the file
    # again for every posting of every commit (half of bulk indexing time); remember.
    try:
        return self._readers[fieldname]
    except KeyError:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
        return reader


whoosh3.W3PerDocReader._cached_reader = _cached_reader


# -- columns -------------------------------------------------------------------------------

def _raw_column(creader, n):
    """The first n fixed-size values of a numeric column reader as bytes, or None."""
    if isinstance(creader, columns.NumericColumn.Reader) and not creader._reverse:
        return creader._dbfile.get(creader._basepos, n * creader._fixedlen), creader._typecode
    return None


def numeric_column(reader, fieldname):
    """A segment's numeric column as an array, read in one go."""
    n = reader.doc_count_all()
    if not n:
        return array("q")
    creader = reader.column_reader(fieldname, translate=False)
    raw = _raw_column(creader, n)
    if raw is None:
        return array("q", creader)
    out = array(raw[1])
    out.frombytes(raw[0])
    if byteorder == "little":
        out.byteswap()  # columns are stored big-endian
    return out


_LENGTH_OF_BYTE = [byte_to_length(b) for b in range(256)]


def field_lengths(reader, fieldname, n):
    """Every document's length in `fieldname` (as BM25F sees it: the stored byte, decoded)."""
    perdoc = getattr(reader, "_perdoc", None)
    creader = perdoc._cached_reader(whoosh3._lenfield(fieldname), whoosh3.LENGTHS_COLUMN) if perdoc else None
    if creader is None or not n:
        return [1] * n
    raw = _raw_column(creader, n)
    raw = raw[0] if raw is not None else bytes(creader[d] for d in range(n))
    table = _LENGTH_OF_BYTE
    return [table[b] for b in raw]


# -- posting blocks ------------------------------------------------------------------------

def _matcher(reader, fieldname, text):
    """whoosh's matcher of a term's postings, or None when the segment lacks the term (about
    half the look-ups: small segments hold few of a query's terms)."""
    try:
        return reader.postings(fieldname, text)
    except TermNotFound:
        return None


def _leaf(m):
    """The raw on-disk postings under a matcher (deleted documents included), or None (also
    for no matcher)."""
    if isinstance(m, FilterMatcher):
        m = m.child
    return m if isinstance(m, whoosh3.W3LeafMatcher) else None


def _blocks(m):
    """(ids, weights, values, block length) of each block of a leaf matcher, in order."""
    while not m._atend and m._i < m._blocklength:
        if m._data is None:
            m._read_data()
        ids = m._data[0]
        yield (ids if m._byteids else list(accumulate(ids))), m._data[1], m._data[2], m._blocklength
        m._next_block()


def posting_ids(reader, fieldname, text):
    """Every document number in a term's postings, deleted ones included, read a block at a
    time (whoosh's all_ids() would cost several Python calls per posting)."""
    m = _matcher(reader, fieldname, text)
    if m is None:
        return []
    leaf = _leaf(m)
    if leaf is None:
        return list(m.all_ids())
    out = []
    for ids, _w, _v, _n in _blocks(leaf):
        out.extend(ids)
    return out


def posting_weights(reader, fieldname, text):
    """(ids, weights) arrays of a term's postings (sorted docnums, deleted ones included),
    or (ids, None) when the postings are not on disk as whoosh3 blocks."""
    m = _matcher(reader, fieldname, text)
    if m is None:
        return array("i"), array("f")
    leaf = _leaf(m)
    if leaf is None:
        return list(m.all_ids()), None
    ids = array("i")
    weights = array("f")
    for block, w, _v, n in _blocks(leaf):
        ids.extend(block)
        if w is None or isinstance(w, float):
            weights.extend([1.0 if w is None else w] * n)
        else:
            weights.extend(w)
    return ids, weights


def doc_postings(reader, fieldname, text, docs, values=True):
    """{docnum: (weight, encoded value or None)} of a term's postings for the given sorted
    docnums, decoding only the blocks that hold them."""
    m = _leaf(_matcher(reader, fieldname, text))
    out = {}
    if m is None:
        return out
    want_values = values and not (m._fixedsize is not None and m._fixedsize >= 0)
    it = iter(docs)
    target = next(it, None)
    while target is not None and not m._atend and m._i < m._blocklength:
        maxid = m._maxid
        if maxid < target:
            m._next_block()
            continue
        if m._data is None:
            m._read_data()
        ids, weights, block_values = m._data[0], m._data[1], m._data[2]
        if not m._byteids:
            ids = list(accumulate(ids))
        index = {d: i for i, d in enumerate(ids)}
        while target is not None and target <= maxid:
            i = index.get(target)
            if i is not None:
                w = 1.0 if weights is None else (weights if isinstance(weights, float) else weights[i])
                out[target] = (w, block_values[i] if want_values else None)
            target = next(it, None)
        m._next_block()
    return out


# -- scoring -------------------------------------------------------------------------------

def term_scorer(scorer):
    """scorer -> f(weight, length) as whoosh's BM25F scorer computes one posting, or None
    when the weighting is not BM25F-like."""
    if hasattr(scorer, "_score") and hasattr(scorer, "dfl"):
        score, dfl = scorer._score, scorer.dfl
        return lambda weight, docnum: score(weight, dfl(docnum))
    return None


# -- segments ------------------------------------------------------------------------------

def index_segments(ix):
    """The segments of an index's latest generation (no stock API lists them without a reader)."""
    return ix._segments()
