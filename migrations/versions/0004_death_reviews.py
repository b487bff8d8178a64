"""death reviews

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 06:41:23.019527
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('lowriskgroup',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('drg_code', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('year', 'drg_code')
    )
    op.create_table('accesslog',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['qc_case.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('accesslog', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accesslog_case_id'), ['case_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('accesslog', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accesslog_case_id'))

    op.drop_table('accesslog')
    op.drop_table('lowriskgroup')

