"""Atom 1.0 documents built with ElementTree, so every text and attribute is XML-escaped."""
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_NS = "http://www.w3.org/XML/1998/namespace"
ET.register_namespace("", ATOM_NS)
# Characters XML 1.0 cannot carry at all, even escaped: one stray control character in a
# title would make the whole feed unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _el(parent, tag, text=None, **attrs):
    node = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}",
                         {k: _NOT_XML.sub("", str(v)) for k, v in attrs.items() if v is not None})
    if text is not None:
        node.text = _NOT_XML.sub("", str(text))
    return node


def rfc3339(value):
    """Naive UTC datetime → the RFC 3339 form Atom requires."""
    return value.replace(microsecond=0).isoformat() + "Z"


def tag_uri(base_url, created_at, specific):
    """A permanent entry id (RFC 4151) that does not change with the page language."""
    host = urlsplit(base_url).hostname or "agora.invalid"
    return f"tag:{host},{created_at:%Y-%m-%d}:{specific}"


def build_feed(*, feed_id, title, lang, self_url, alternate_url, base_url, updated, entries,
               generator="Agora", subtitle=None):
    """Serialise a feed; `entries` are dicts with id, title, url, published, updated,
    author, content_html, lang and categories [(term, label)]."""
    feed = ET.Element(f"{{{ATOM_NS}}}feed", {f"{{{XML_NS}}}lang": lang, f"{{{XML_NS}}}base": base_url + "/"})
    _el(feed, "id", feed_id)
    _el(feed, "title", title)
    if subtitle:
        _el(feed, "subtitle", subtitle)
    _el(feed, "updated", rfc3339(updated))
    _el(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _el(feed, "link", rel="alternate", type="text/html", href=alternate_url)
    _el(feed, "generator", generator)
    # A feed-level author makes entries without one valid too (RFC 4287 §4.1.1).
    author = _el(feed, "author")
    _el(author, "name", generator)
    for entry in entries:
        node = _el(feed, "entry", **{f"{{{XML_NS}}}lang": entry.get("lang")})
        _el(node, "id", entry["id"])
        _el(node, "title", entry["title"])
        _el(node, "link", rel="alternate", type="text/html", href=entry["url"])
        _el(node, "published", rfc3339(entry["published"]))
        _el(node, "updated", rfc3339(entry["updated"]))
        if entry.get("author"):
            _el(_el(node, "author"), "name", entry["author"])
        for term, label in entry.get("categories", ()):
            _el(node, "category", term=term, label=label)
        if entry.get("summary"):
            _el(node, "summary", entry["summary"])
        # type="html": the sanitised post HTML travels escaped, as RFC 4287 §3.1.1.2 asks.
        _el(node, "content", entry["content_html"], type="html")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8", xml_declaration=False)
