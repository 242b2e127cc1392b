"""Search outbox: index work recorded in the same transaction as the change it follows."""
from .extensions import db
from .models import SearchOutbox


def enqueue(object_type, object_id):
    """Record that the search index must look at this object again after commit."""
    from flask import g, has_request_context

    db.session.add(SearchOutbox(object_type=object_type, object_id=object_id))
    if has_request_context():
        g.search_outbox_dirty = True
