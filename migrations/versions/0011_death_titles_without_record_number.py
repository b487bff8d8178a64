"""death-case titles without the record number (Y§22): hospital and day of death only

Revision ID: 0011
Revises: 0010
"""
import json

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def _title(data: dict) -> str:
    # the same as states.death_intake.title_of, frozen here: a migration must not change with the code
    parts = [str(data.get(k) or "").strip() for k in ("hospital", "died_on")]
    return " ".join(["死亡病例", *(p for p in parts if p)])


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, data FROM qc_case WHERE kind = 'death_review'")).all()
    for case_id, data in rows:
        data = json.loads(data) if isinstance(data, (str, bytes)) else (data or {})
        conn.execute(sa.text("UPDATE qc_case SET title = :title WHERE id = :id"), {"title": _title(data), "id": case_id})


def downgrade() -> None:
    pass  # the record number is in each case's content; the old titles are not brought back on purpose
