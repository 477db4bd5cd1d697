"""faq: themes and questions of the FAQ

Revision ID: 0002_faq
Revises: 0001_foundation
Create Date: 2026-11-27 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_faq'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('faq_themes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('length(title) > 0', name=op.f('ck_faq_themes_title_not_empty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_themes')),
    sa.UniqueConstraint('slug', name=op.f('uq_faq_themes_slug'))
    )
    op.create_table('faq_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('question', sa.String(length=300), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('keywords', sa.String(length=500), server_default='', nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('length(question) > 0', name=op.f('ck_faq_entries_question_not_empty')),
    sa.CheckConstraint('length(answer) > 0', name=op.f('ck_faq_entries_answer_not_empty')),
    sa.ForeignKeyConstraint(['theme_id'], ['faq_themes.id'], name=op.f('fk_faq_entries_theme_id_faq_themes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_entries')),
    sa.UniqueConstraint('slug', name=op.f('uq_faq_entries_slug'))
    )
    with op.batch_alter_table('faq_entries', schema=None) as batch_op:
        batch_op.create_index('ix_faq_entries_theme_position', ['theme_id', 'position'], unique=False)


def downgrade():
    with op.batch_alter_table('faq_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_faq_entries_theme_position')

    op.drop_table('faq_entries')
    op.drop_table('faq_themes')
