"""The e-invoice provider interface: what billing asks of any provider (issue, status, the
PDF/XML, adjust, replace, cancel), the document it sends and the two ways a call fails.

A provider signs the e-invoice and obtains the tax authority's code (mã CQT), which may come
back later than the number: ``status`` is asked until it does. ``ProviderUnavailable`` is
transient (network, timeout, 5xx, an expired login): the same document is sent again later
under the same transaction key. ``ProviderRefused`` is permanent for this content (an invalid
buyer tax code, say): staff correct it and resend."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


class ProviderUnavailable(Exception):
    """The provider could not be reached or did not answer usably: try again later."""


class ProviderRefused(Exception):
    """The provider refused the document; ``code`` and ``message`` are its own."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DocumentLine:
    name: str
    unit: str
    quantity: int
    unit_price: int  # before VAT
    amount: int  # before VAT
    vat_rate: str  # "KCT", "0", "5", "8", "10"
    vat_amount: int
    # A line that lowers the total (the insurance fund's share; an adjustment's decrease).
    decrease: bool = False
    code: str = ""


@dataclass(frozen=True)
class OriginalReference:
    """The issued e-invoice an adjustment or replacement corrects."""

    template_code: str
    symbol: str
    number: str
    issued_at: datetime
    transaction_uuid: str


@dataclass(frozen=True)
class Document:
    """One e-invoice as billing sends it: amounts in whole VND."""

    transaction_uuid: str
    issued_at: datetime
    buyer_name: str
    buyer_code: str
    lines: list[DocumentLine]
    payment_method: str  # "TM", "CK", "TM/CK"
    total_before_vat: int
    total_vat: int
    total: int
    total_in_words: str
    buyer_legal_name: str = ""
    buyer_tax_code: str = ""
    buyer_address: str = ""
    buyer_email: str = ""
    paid: bool = True
    reason: str = ""
    original: OriginalReference | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Issued:
    """What the provider answered for an issued e-invoice."""

    template_code: str
    symbol: str
    number: str
    transaction_id: str = ""
    lookup_code: str = ""
    tax_authority_code: str = ""
    issued_at: datetime | None = None


class EInvoiceProvider(Protocol):
    name: str

    def issue(self, document: Document) -> Issued:
        """Issue an original e-invoice (idempotent on ``document.transaction_uuid``)."""

    def adjust(self, document: Document) -> Issued:
        """Issue an adjusting e-invoice of ``document.original``."""

    def replace(self, document: Document) -> Issued:
        """Issue a replacing e-invoice of ``document.original``."""

    def status(self, transaction_uuid: str) -> Issued | None:
        """The e-invoice issued under this transaction key, or ``None`` if there is none."""

    def download(self, issued: Issued, *, transaction_uuid: str, file_type: str) -> bytes:
        """The provider's rendering: ``file_type`` ``pdf`` or ``xml``."""

    def cancel(self, original: OriginalReference, *, reason: str) -> None:
        """Cancel an issued e-invoice (only where the law still allows it)."""


PROVIDERS = {"viettel": "billing.einvoicing.viettel.ViettelSInvoice"}
# What a buyer knows the provider as (the pay page says where the e-invoice is).
PROVIDER_NAMES = {"viettel": "Viettel S-Invoice"}


def provider_enabled() -> bool:
    return bool(settings.EINVOICE_PROVIDER)


def einvoice_provider() -> EInvoiceProvider:
    """The configured provider (``EINVOICE_PROVIDER``)."""
    path = PROVIDERS.get(settings.EINVOICE_PROVIDER)
    if path is None:
        raise ImproperlyConfigured(
            f"EINVOICE_PROVIDER={settings.EINVOICE_PROVIDER!r}: one of {sorted(PROVIDERS)}"
        )
    provider: EInvoiceProvider = import_string(path)()
    return provider
