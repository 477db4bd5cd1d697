"""Database models (SQLAlchemy 2.0 typed mapping), one module per domain.

Every stored instant is naive UTC (`clock.utcnow`); calendar dates are plain dates.
Each feature adds its module here so that Alembic and the app see every table.
"""

from app.models.accounts import Account, AuthEvent, AuthEventKind, UserSession
from app.models.faq import FaqEntry, FaqTheme  # noqa: F401
from app.models.outbox import ApiToken, OutboxMessage  # noqa: F401
from app.models.reimbursements import (  # noqa: F401
    REIMBURSEMENT_STATUS_LABELS,
    Document,
    DocumentAccess,
    DocumentAction,
    ReimbursementRequest,
    ReimbursementStatus,
    StatusChange,
)
from app.models.roster import (
    GUARANTEE_LABELS,
    QUALITY_LABELS,
    AssistanceFile,
    Guarantee,
    GuaranteeKind,
    Insurer,
    InsurerOrigin,
    Member,
    Offer,
    Quality,
)
from app.models.staff import (  # noqa: F401
    ACCESS_ACTION_LABELS,
    STAFF_ROLE_LABELS,
    AccessAction,
    AccessLogEntry,
    StaffMember,
    StaffRecoveryCode,
    StaffRole,
    StaffSession,
)
from app.models.trips import (
    ADDRESS_KIND_LABELS,
    TRIP_PURPOSE_LABELS,
    TRIP_STATUS_LABELS,
    Address,
    AddressKind,
    Trip,
    TripPurpose,
    TripStatus,
)

__all__ = [
    "ADDRESS_KIND_LABELS",
    "TRIP_PURPOSE_LABELS",
    "TRIP_STATUS_LABELS",
    "TripStatus",
    "Address",
    "AddressKind",
    "Trip",
    "TripPurpose",
    "GUARANTEE_LABELS",
    "QUALITY_LABELS",
    "Account",
    "AssistanceFile",
    "AuthEvent",
    "AuthEventKind",
    "Guarantee",
    "GuaranteeKind",
    "Insurer",
    "InsurerOrigin",
    "Member",
    "Offer",
    "Quality",
    "UserSession",
]
