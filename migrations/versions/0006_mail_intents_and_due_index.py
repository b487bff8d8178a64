"""mail intents (rendered at delivery) and the next action time of open deadlines

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template', sa.String(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('context', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_action_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # Open deadlines from before: the next sweep looks at each once and sets its next action.
    op.execute("UPDATE deadline SET next_action_at = opened_at WHERE closed_at IS NULL")
    op.create_index('ix_deadline_next_action', 'deadline', ['closed_at', 'next_action_at'])


def downgrade() -> None:
    op.drop_index('ix_deadline_next_action', table_name='deadline')
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_column('next_action_at')
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_column('context')
        batch_op.drop_column('template')
