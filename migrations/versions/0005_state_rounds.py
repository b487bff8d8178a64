"""state rounds

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 06:44:57.120151
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table('qc_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('tasklink', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_round', sa.Integer(), nullable=False, server_default='0'))




def downgrade() -> None:

    with op.batch_alter_table('tasklink', schema=None) as batch_op:
        batch_op.drop_column('case_round')

    with op.batch_alter_table('qc_case', schema=None) as batch_op:
        batch_op.drop_column('round')


