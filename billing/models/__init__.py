from billing.models.identity import ApiToken, Device, DeviceKind, Role
from billing.models.ledger import Account, AccountType, JournalEntry, JournalLine

__all__ = [
    "Account",
    "AccountType",
    "ApiToken",
    "Device",
    "DeviceKind",
    "JournalEntry",
    "JournalLine",
    "Role",
]
