"""Vietnamese personal identifiers (12-digit citizen ID, 10-digit social-insurance
number, 15-character legacy card): validation, keyed hashing, masking.

A citizen ID (CCCD) is ``PPP G YY RRRRRR``: province of birth registration, a century/sex
digit, two digits of the birth year, six random digits; no check digit. It is personal
data: it is stored only as an HMAC (for exact lookup) and a masked form.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.utils import timezone

from billing.errors import InvalidCitizenId, InvalidInsuranceNumber
from billing.models.patients import InsuranceIdKind

# Province codes of the citizen ID (Circular 07/2016/TT-BCA, 63 provinces).
# fmt: off
PROVINCE_CODES = frozenset((
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020",
    "022", "024", "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038",
    "040", "042", "044", "045", "046", "048", "049", "051", "052", "054", "056", "058", "060",
    "062", "064", "066", "067", "068", "070", "072", "074", "075", "077", "079", "080", "082",
    "083", "084", "086", "087", "089", "091", "092", "093", "094", "095", "096",
))
# fmt: on
_CITIZEN_ID = re.compile(r"^\d{12}$")
_SOCIAL_INSURANCE = re.compile(r"^\d{10}$")
_LEGACY_CARD = re.compile(r"^[A-Z]{2}[1-5]\d{2}\d{10}$")
# The legacy card's benefit code (3rd character) → benefit level.
LEGACY_CARD_BENEFIT = {"1": 100, "2": 100, "3": 95, "4": 80, "5": 100}


def _compact(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value or "").upper()


def citizen_id_normalize(value: str, *, today: date | None = None) -> str:
    """The 12 digits, or :class:`InvalidCitizenId` (never echoing the value back)."""
    digits = _compact(value)
    if not _CITIZEN_ID.match(digits):
        raise InvalidCitizenId(param="citizen_id")
    if digits[:3] not in PROVINCE_CODES:
        raise InvalidCitizenId(
            "The province code of the citizen ID does not exist.", param="citizen_id"
        )
    century = 1900 + 100 * (int(digits[3]) // 2)
    year = century + int(digits[4:6])
    if year > (today or timezone.localdate()).year:
        raise InvalidCitizenId(
            "The birth year in the citizen ID is in the future.", param="citizen_id"
        )
    return digits


def pii_hash(kind: str, value: str) -> str:
    """HMAC-SHA256 keyed with ``PII_HASH_KEY``; the kind separates the hash spaces."""
    key = settings.PII_HASH_KEY.encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def mask(value: str, *, head: int = 3, tail: int = 3) -> str:
    """``001******345``."""
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


def mask_name(full_name: str) -> str:
    """Initials of the family and middle names, the given name whole: ``N. V. An``."""
    words = full_name.split()
    if len(words) <= 1:
        return full_name[:1] + "*" * max(len(full_name) - 1, 0)
    return " ".join([*(f"{word[0]}." for word in words[:-1]), words[-1]])


@dataclass(frozen=True, slots=True)
class InsuranceId:
    kind: InsuranceIdKind
    # The key two patients' identifiers are compared on: the citizen ID, or the 10-digit
    # social-insurance number (also the last ten characters of a legacy card code).
    lookup_key: str
    masked: str
    benefit_level: int | None  # only a legacy card carries it


def insurance_id_parse(value: str) -> InsuranceId:
    compact = _compact(value)
    if _LEGACY_CARD.match(compact):
        return InsuranceId(
            kind=InsuranceIdKind.LEGACY_CARD,
            lookup_key=compact[-10:],
            masked=mask(compact, head=5, tail=3),
            benefit_level=LEGACY_CARD_BENEFIT[compact[2]],
        )
    if _SOCIAL_INSURANCE.match(compact):
        return InsuranceId(InsuranceIdKind.SOCIAL_INSURANCE, compact, mask(compact, tail=3), None)
    if _CITIZEN_ID.match(compact):
        try:
            digits = citizen_id_normalize(compact)
        except InvalidCitizenId as exc:
            raise InvalidInsuranceNumber(exc.message, param="insurance_number") from None
        return InsuranceId(InsuranceIdKind.CITIZEN_ID, digits, mask(digits), None)
    raise InvalidInsuranceNumber(param="insurance_number")
