"""improvement targets (H1), compendium versions and studies (H2), published annual reports (H6)

Published compendium and report versions are immutable: the database itself refuses UPDATE and DELETE.

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

_TIME = sqlmodel.sql.sqltypes.UTCDateTime
_TEXT = sqlmodel.sql.sqltypes.AutoString
_FROZEN = ("compendiumversion", "compendiumfile", "annualreportversion")


def upgrade() -> None:
    op.create_table('improvementtarget',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_case_id', sa.Integer(), nullable=False),
    sa.Column('specialty', _TEXT(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('goal_code', _TEXT(), nullable=False),
    sa.Column('indicator_code', _TEXT(), nullable=False),
    sa.Column('target_value', sa.Float(), nullable=False),
    sa.Column('direction', _TEXT(), nullable=False),
    sa.Column('approved_at', _TIME(), nullable=False),
    sa.ForeignKeyConstraint(['plan_case_id'], ['qc_case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('specialty', 'year', 'indicator_code', name='uq_improvement_target')
    )
    op.create_index(op.f('ix_improvementtarget_plan_case_id'), 'improvementtarget', ['plan_case_id'], unique=False)
    op.create_index(op.f('ix_improvementtarget_specialty'), 'improvementtarget', ['specialty'], unique=False)
    op.create_table('compendiumversion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('specialty', _TEXT(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', _TEXT(), nullable=False),
    sa.Column('common', sa.JSON(), nullable=False),
    sa.Column('special', sa.JSON(), nullable=False),
    sa.Column('sha256', _TEXT(), nullable=False),
    sa.Column('published_at', _TIME(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['qc_case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id'),
    sa.UniqueConstraint('specialty', 'version', name='uq_compendium_version')
    )
    op.create_index(op.f('ix_compendiumversion_specialty'), 'compendiumversion', ['specialty'], unique=False)
    op.create_table('compendiumfile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('name', _TEXT(), nullable=False),
    sa.Column('content_type', _TEXT(), nullable=False),
    sa.Column('sha256', _TEXT(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['compendiumversion.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version_id', 'name', name='uq_compendium_file')
    )
    op.create_index(op.f('ix_compendiumfile_version_id'), 'compendiumfile', ['version_id'], unique=False)
    op.create_table('compendiumstudy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('studied_at', _TIME(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['compendiumversion.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version_id', 'person_id', name='uq_compendium_study')
    )
    op.create_index(op.f('ix_compendiumstudy_version_id'), 'compendiumstudy', ['version_id'], unique=False)
    op.create_index(op.f('ix_compendiumstudy_person_id'), 'compendiumstudy', ['person_id'], unique=False)
    op.create_table('annualreportversion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('specialty', _TEXT(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', _TEXT(), nullable=False),
    sa.Column('analysis', sa.JSON(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('html_sha256', _TEXT(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('pdf_sha256', _TEXT(), nullable=False),
    sa.Column('published_at', _TIME(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['qc_case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id'),
    sa.UniqueConstraint('specialty', 'year', 'version', name='uq_annual_report_version')
    )
    op.create_index(op.f('ix_annualreportversion_specialty'), 'annualreportversion', ['specialty'], unique=False)
    _freeze()


def _freeze() -> None:
    """A published version is immutable (H2, H6): refuse UPDATE and DELETE in the database itself."""
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE OR REPLACE FUNCTION qc_published_is_immutable() RETURNS trigger AS $$ "
                   "BEGIN RAISE EXCEPTION 'published versions are immutable'; END; $$ LANGUAGE plpgsql")
    for table in _FROZEN:
        for action in ("UPDATE", "DELETE"):
            name = f"{table}_no_{action.lower()}"
            if postgres:
                op.execute(f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION qc_published_is_immutable()")
            else:
                op.execute(f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                           "BEGIN SELECT RAISE(ABORT, 'published versions are immutable'); END")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in _FROZEN:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}" + (f" ON {table}" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS qc_published_is_immutable()")
    op.drop_table('annualreportversion')
    op.drop_table('compendiumstudy')
    op.drop_table('compendiumfile')
    op.drop_table('compendiumversion')
    op.drop_index(op.f('ix_improvementtarget_specialty'), table_name='improvementtarget')
    op.drop_index(op.f('ix_improvementtarget_plan_case_id'), table_name='improvementtarget')
    op.drop_table('improvementtarget')
