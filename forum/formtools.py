"""Small helpers shared by every area's WTForms forms."""
try:  # WTForms 3.3 wants SelectChoice objects (tuples are deprecated); older ones take tuples.
    from wtforms.fields.choices import SelectChoice

    def option(value, label):
        return SelectChoice(value=value, label=label)
except ImportError:  # pragma: no cover - WTForms < 3.3
    def option(value, label):
        return (value, label)


def strip(value):
    """A WTForms filter: surrounding white space is never part of what someone meant."""
    return value.strip() if isinstance(value, str) else value
