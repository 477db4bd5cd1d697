"""reimbursement requests, documents, status history and document access log

Revision ID: 0004_reimbursements
Revises: 0003_trips
Create Date: 2026-11-27 12:06:25.467206

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_reimbursements'
down_revision = '0003_trips'
branch_labels = None
depends_on = None


def _status_enum():
    return sa.Enum('recue', 'en_cours', 'acceptee', 'refusee', name='reimbursement_status', native_enum=False, create_constraint=True, length=32)


def upgrade():
    op.create_table('reimbursement_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('assistance_file_id', sa.Integer(), nullable=False),
    sa.Column('nature', sa.String(length=200), nullable=False),
    sa.Column('expense_date', sa.Date(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('holder_name', sa.String(length=140), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('status', _status_enum(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('amount_cents > 0 AND amount_cents <= 1000000', name=op.f('ck_reimbursement_requests_amount_range')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_reimbursement_requests_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assistance_file_id'], ['assistance_files.id'], name=op.f('fk_reimbursement_requests_assistance_file_id_assistance_files'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reimbursement_requests')),
    sa.UniqueConstraint('number', name=op.f('uq_reimbursement_requests_number'))
    )
    with op.batch_alter_table('reimbursement_requests', schema=None) as batch_op:
        batch_op.create_index('ix_reimbursement_requests_account_created', ['account_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reimbursement_requests_assistance_file_id'), ['assistance_file_id'], unique=False)

    op.create_table('reimbursement_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('size > 0', name=op.f('ck_reimbursement_documents_not_empty')),
    sa.ForeignKeyConstraint(['request_id'], ['reimbursement_requests.id'], name=op.f('fk_reimbursement_documents_request_id_reimbursement_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reimbursement_documents')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_reimbursement_documents_stored_name'))
    )
    with op.batch_alter_table('reimbursement_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reimbursement_documents_request_id'), ['request_id'], unique=False)

    op.create_table('reimbursement_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('status', _status_enum(), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('changed_by', sa.String(length=150), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['reimbursement_requests.id'], name=op.f('fk_reimbursement_status_changes_request_id_reimbursement_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reimbursement_status_changes'))
    )
    with op.batch_alter_table('reimbursement_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reimbursement_status_changes_request_id'), ['request_id'], unique=False)

    op.create_table('reimbursement_document_accesses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.Enum('view', 'download', name='document_action', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('accessed_at', sa.DateTime(), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_reimbursement_document_accesses_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['reimbursement_documents.id'], name=op.f('fk_reimbursement_document_accesses_document_id_reimbursement_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reimbursement_document_accesses'))
    )
    with op.batch_alter_table('reimbursement_document_accesses', schema=None) as batch_op:
        batch_op.create_index('ix_reimbursement_document_accesses_account_at', ['account_id', 'accessed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reimbursement_document_accesses_document_id'), ['document_id'], unique=False)


def downgrade():
    with op.batch_alter_table('reimbursement_document_accesses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reimbursement_document_accesses_document_id'))
        batch_op.drop_index('ix_reimbursement_document_accesses_account_at')

    op.drop_table('reimbursement_document_accesses')
    with op.batch_alter_table('reimbursement_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reimbursement_status_changes_request_id'))

    op.drop_table('reimbursement_status_changes')
    with op.batch_alter_table('reimbursement_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reimbursement_documents_request_id'))

    op.drop_table('reimbursement_documents')
    with op.batch_alter_table('reimbursement_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reimbursement_requests_assistance_file_id'))
        batch_op.drop_index('ix_reimbursement_requests_account_created')

    op.drop_table('reimbursement_requests')
