"""A field changed in the CRM (not yet in Xero) and in Xero since the last sync: the
connection's rule decides which value stays. Pure functions, no database.

- A field changed only in the CRM keeps the CRM's value (Xero's older one is not applied; the
  push sends the CRM's).
- Changed in both: the most recent change wins (the CRM's edit time against Xero's
  UpdatedDateUTC), or Xero always, or the CRM always."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..models import ConflictRule
from .mapping import Change, XeroValues

FIELD_WORDS = {
    "first_name": "First name",
    "last_name": "Last name",
    "company_name": "Company",
    "email": "Email",
    "phone": "Phone",
    "address_line1": "Billing address",
    "address_line2": "Billing address line 2",
    "address_line3": "Billing address line 3",
    "address_line4": "Billing address line 4",
    "address_city": "Town or city",
    "address_region": "Region",
    "address_postal_code": "Postal code",
    "address_country": "Country",
    "is_archived": "Archived",
}


@dataclass(frozen=True)
class Decision:
    field: str
    crm_value: str
    xero_value: str
    winner: str  # "crm" or "xero"
    rule: str
    crm_changed_at: datetime | None
    xero_changed_at: datetime | None

    def in_words(self) -> str:
        """For the contact's history: both values, the one kept, and why."""
        kept = "Xero's" if self.winner == "xero" else "this CRM's"
        return (
            f"{FIELD_WORDS.get(self.field, self.field)} changed in both places: here "
            f"“{self.crm_value}”, in Xero “{self.xero_value}”. Kept {kept} "
            f"({ConflictRule(self.rule).label.lower()})."
        )


def _value(values: XeroValues, name: str) -> Any:
    if name == "phone":
        return values.phone_e164
    if name == "email":
        return values.email.lower()
    if name == "is_archived":
        return values.archived
    if name.startswith("address_"):
        return values.address.get(name, "")
    return getattr(values, name)


def conflicts_decide(
    changes: list[Change],
    dirty: dict[str, dict[str, Any]],
    before: XeroValues | None,
    values: XeroValues,
    rule: str,
) -> tuple[list[Change], list[Decision]]:
    """(the changes from Xero to apply, the conflicts decided). `dirty` is the CRM's pending
    fields ({field: {"at": iso time, ...}}); `before` is Xero's contact as last synced (None:
    unknown, so any difference counts as a change in Xero)."""
    kept: list[Change] = []
    decisions: list[Decision] = []
    for change in changes:
        name, old, new = change
        mark = dirty.get(name)
        if mark is None:
            kept.append(change)
            continue
        if before is not None and _value(before, name) == _value(values, name):
            continue  # only the CRM changed it: its value stands, and goes to Xero
        crm_at = _moment(mark.get("at"))
        winner = _winner(rule, crm_at, values.updated_at)
        decisions.append(
            Decision(
                field=name,
                crm_value=str(old),
                xero_value=str(new),
                winner=winner,
                rule=rule,
                crm_changed_at=crm_at,
                xero_changed_at=values.updated_at,
            )
        )
        if winner == "xero":
            kept.append(change)
    return kept, decisions


def _winner(rule: str, crm_at: datetime | None, xero_at: datetime | None) -> str:
    if rule == ConflictRule.XERO:
        return "xero"
    if rule == ConflictRule.CRM:
        return "crm"
    if crm_at is None:
        return "xero"
    if xero_at is None:
        return "crm"
    return "xero" if xero_at > crm_at else "crm"


def _moment(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
