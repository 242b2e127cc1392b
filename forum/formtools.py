"""Small helpers shared by every area's WTForms forms."""
try:  # WTForms 3.3 wants SelectChoice objects (tuples are deprecated); older ones take tuples.
    from wtforms.fields.choices import SelectChoice

    def option(value, label):
        return SelectChoice(value=value, label=label)
except ImportError:  # pragma: no cover - WTForms < 3.3
    def option(value, label):
        return (value, label)


# Bidirectional embeddings, overrides and isolates, and the byte-order mark: invisible,
# and an unclosed U+202E in a name reverses the rest of the line it is shown in.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"))


def strip(value):
    """A WTForms filter: surrounding white space and invisible direction overrides are
    never part of what someone meant."""
    return value.translate(_BIDI_CONTROLS).strip() if isinstance(value, str) else value


def show_error(form, exc, fallback=None):
    """Put a service's DomainError next to the field it names (`form_field_for` maps service
    names where the form has its own), else next to `fallback`, else above the form.

    This is all a view does with a refused action: the service has already rolled back.
    """
    field = None
    if exc.field:
        field = form.form_field_for(exc.field) if hasattr(form, "form_field_for") else getattr(form, exc.field, None)
    target = field if field is not None and hasattr(field, "errors") else fallback
    if target is None:
        form.form_errors.append(exc.message)
    else:
        target.errors = list(target.errors) + [exc.message]
