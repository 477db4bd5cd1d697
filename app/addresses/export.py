"""The « adresses » section of « Télécharger mes données »."""

import sqlalchemy as sa

from app.account.export import register_section
from app.extensions import db
from app.models import Account, Address


def _iso(value):
    return value.isoformat() if value else None


@register_section("adresses")
def export_addresses(account: Account):
    """Every address of the account, deleted ones included (past trips still use them)."""
    addresses = db.session.scalars(
        sa.select(Address).where(Address.account_id == account.id).order_by(Address.id)
    )
    return [
        {
            "intitule": address.label,
            "type": address.kind.label,
            "adresse": address.street,
            "complement_adresse": address.complement,
            "code_postal": address.postal_code,
            "ville": address.city,
            "creee_le": _iso(address.created_at),
            "supprimee_le": _iso(address.archived_at),
        }
        for address in addresses
    ]
