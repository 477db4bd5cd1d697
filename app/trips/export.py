"""The « trajets » section of « Télécharger mes données »."""

from app.account.export import register_section
from app.models import Account
from app.trips import services


@register_section("trajets")
def trips_section(account: Account):
    """Every trip of the account, cancelled ones included, with both complete addresses."""
    return [
        {
            "enfant": trip.child.full_name,
            "date": trip.trip_date.isoformat(),
            "heure": trip.trip_time.strftime("%H:%M"),
            "motif": trip.purpose.label,
            "depart": {"intitule": trip.from_address.label, "adresse": trip.from_address.one_line},
            "destination": {"intitule": trip.to_address.label, "adresse": trip.to_address.one_line},
            "cree_le": trip.created_at.isoformat(),
            "modifie_le": trip.updated_at.isoformat(),
            "annule_le": trip.cancelled_at.isoformat() if trip.cancelled_at else None,
        }
        for trip in services.all_trips(account)
    ]
