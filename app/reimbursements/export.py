"""The « remboursements » section of « Télécharger mes données »."""

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from app.account.export import register_section
from app.extensions import db
from app.models import Account, DocumentAccess, ReimbursementRequest


def _iso(value):
    return value.isoformat() if value is not None else None


@register_section("remboursements")
def export_reimbursements(account: Account):
    requests = db.session.scalars(
        sa.select(ReimbursementRequest)
        .where(ReimbursementRequest.account_id == account.id)
        .options(
            joinedload(ReimbursementRequest.assistance_file),
            selectinload(ReimbursementRequest.documents),
            selectinload(ReimbursementRequest.history),
        )
        .order_by(ReimbursementRequest.id)
    )
    accesses = db.session.scalars(
        sa.select(DocumentAccess)
        .where(DocumentAccess.account_id == account.id)
        .options(joinedload(DocumentAccess.document))
        .order_by(DocumentAccess.id)
    )
    return {
        "demandes": [
            {
                "numero": r.number,
                "dossier_assistance": r.assistance_file.number,
                "nature": r.nature,
                "date_de_la_depense": _iso(r.expense_date),
                "montant_euros": f"{r.amount_cents // 100}.{r.amount_cents % 100:02d}",
                "titulaire_du_compte": r.holder_name,
                "iban": r.iban,
                "statut": r.status.label,
                "deposee_le": _iso(r.created_at),
                "modifiee_le": _iso(r.updated_at),
                "justificatifs": [
                    {
                        "nom": d.original_name,
                        "type": d.media_type,
                        "taille_octets": d.size,
                        "sha256": d.sha256,
                        "ajoute_le": _iso(d.created_at),
                    }
                    for d in r.documents
                ],
                "historique": [
                    {
                        "statut": h.status.label,
                        "le": _iso(h.changed_at),
                        "par": h.changed_by,
                        "commentaire": h.comment,
                    }
                    for h in r.history
                ],
            }
            for r in requests
        ],
        "consultations_des_justificatifs": [
            {
                "justificatif": a.document.original_name,
                "action": "consultation" if a.action.value == "view" else "téléchargement",
                "le": _iso(a.accessed_at),
                "adresse_ip": a.ip,
            }
            for a in accesses
        ],
    }
