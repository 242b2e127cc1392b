"""Full-text search in Dutch and French, behind a small backend interface."""


def init_app(app):
    """Registers the search views and CLI once they exist."""
