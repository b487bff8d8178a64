"""terms for directory-loaded people (appointment.source), the dispatch meeting's agenda (H4)

Revision ID: 0015
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # registry: appointed by establishment or a roster change; directory: a post the directory file lists
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(), nullable=False, server_default='registry'))
    op.create_table(
        'dispatchagenda',
        sa.Column('meeting_id', sa.Integer(), sa.ForeignKey('meeting.id'), primary_key=True),
        sa.Column('topics', sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('dispatchagenda')
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('source')
