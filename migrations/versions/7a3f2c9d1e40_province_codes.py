"""Organisations store their province as an ISO 3166-2 code, as threads already do

Older versions stored the name as the admin typed it ("Friesland", "Liège", "Limburg"),
in either language. Each name that forum.places recognises for the organisation's
country becomes its code (NL-FR, BE-WLG, BE-VLI); a value it does not recognise is left
as it is and named in the log, so nothing is lost, and pages show it as stored until an
admin picks a province. Only data changes (no column does), with plain UPDATEs that run
alike on SQLite and PostgreSQL, so no batch mode is needed.

The lookup is imported rather than copied here: it is the one table of provinces, and it
only ever gains spellings, so this revision's result can only improve.

Revision ID: 7a3f2c9d1e40
Revises: 5c1e0a7d2f3b
Create Date: 2026-12-02 18:40:00

"""
import logging

from alembic import op
import sqlalchemy as sa

from forum.places import find_province, province_name

# revision identifiers, used by Alembic.
revision = '7a3f2c9d1e40'
down_revision = '5c1e0a7d2f3b'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
organisation = sa.table("organisation", sa.column("id", sa.Integer), sa.column("province", sa.String),
                        sa.column("country", sa.String))


def _convert(new_value):
    conn = op.get_bind()
    rows = conn.execute(sa.select(organisation.c.id, organisation.c.province, organisation.c.country)
                        .where(organisation.c.province != "")).all()
    for org_id, province, country in rows:
        value = new_value(province, country)
        if value is None:
            log.warning("organisation %s: province %r is not known; left as it is", org_id, province)
        elif value != province:
            conn.execute(organisation.update().where(organisation.c.id == org_id).values(province=value))


def upgrade():
    _convert(lambda province, country: find_province(province, country))


def downgrade():
    # Back to the Dutch name, which the previous version showed and matched in both languages.
    _convert(lambda province, country: province_name(province, "nl") if find_province(province) else province)
