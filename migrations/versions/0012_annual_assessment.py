"""annual assessment (Y§24): rubric versions per year, host-unit funding declarations (Y§16), published grades

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_TIME = sqlmodel.sql.sqltypes.UTCDateTime
_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('assessment_rubric',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('city', _TEXT(), nullable=False),
    sa.Column('label', _TEXT(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('source', _TEXT(), nullable=False),
    sa.Column('loaded_at', _TIME(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('year', 'version', name='uq_assessment_rubric_version')
    )
    op.create_index(op.f('ix_assessment_rubric_year'), 'assessment_rubric', ['year'], unique=False)
    op.create_table('funding_declaration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('center_code', _TEXT(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('leader_name', _TEXT(), nullable=False),
    sa.Column('leader_title', _TEXT(), nullable=False),
    sa.Column('proof', _TEXT(), nullable=False),
    sa.Column('declared_by_id', sa.Integer(), nullable=False),
    sa.Column('declared_at', _TIME(), nullable=False),
    sa.ForeignKeyConstraint(['declared_by_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('center_code', 'year', name='uq_funding_declaration')
    )
    op.create_index(op.f('ix_funding_declaration_center_code'), 'funding_declaration', ['center_code'], unique=False)
    op.create_table('assessment_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('center_code', _TEXT(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('bonus', sa.Float(), nullable=False),
    sa.Column('grade', _TEXT(), nullable=False),
    sa.Column('vetoed', sa.Boolean(), nullable=False),
    sa.Column('veto_ground', _TEXT(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('published_at', _TIME(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['qc_case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('center_code', 'year', name='uq_assessment_result')
    )
    op.create_index(op.f('ix_assessment_result_center_code'), 'assessment_result', ['center_code'], unique=False)
    op.create_index(op.f('ix_assessment_result_year'), 'assessment_result', ['year'], unique=False)


def downgrade() -> None:
    op.drop_table('assessment_result')
    op.drop_table('funding_declaration')
    op.drop_table('assessment_rubric')
