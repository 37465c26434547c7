"""Django admin: the price list and insurance rules are edited here; money and ledger
records are read-only (changes go through services that post to the ledger)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.errors import EInvoiceNotResendable
from billing.identifiers import mask_name
from billing.models import (
    Account,
    Deposit,
    EInvoice,
    EInvoiceStatus,
    HospitalLevelSetting,
    InsuranceCoverage,
    InsuranceParameters,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    LookupAudit,
    Patient,
    PriceListItem,
    RouteRatio,
)
from billing.selectors.einvoices import einvoices_needing_attention
from billing.services.einvoices import einvoice_buyer_correct, einvoice_resend
from config.admin import ReadOnlyAdmin, ReadOnlyInline


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "type", "currency", "is_active"]
    list_filter = ["type", "is_active", "currency"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Code, type and currency are fixed once lines exist (a database trigger agrees).
        if obj is not None and obj.lines.exists():
            return ["code", "type", "currency"]
        return []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class JournalLineInline(ReadOnlyInline):
    model = JournalLine
    fields = readonly_fields = ("account", "debit", "credit", "reference")


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "posted_at", "source_type", "source_id", "memo"]
    list_filter = ["source_type"]
    search_fields = ["posting_key", "source_id", "memo"]
    date_hierarchy = "posted_at"
    inlines = [JournalLineInline]


@admin.register(PriceListItem)
class PriceListItemAdmin(admin.ModelAdmin):
    list_display = [
        "service_code",
        "name",
        "unit",
        "category",
        "price",
        "insurance_price",
        "on_demand",
        "vat_rate",
        "effective_from",
        "effective_to",
    ]
    list_filter = ["category", "on_demand", "vat_rate"]
    search_fields = ["service_code", "name"]


@admin.register(InsuranceParameters)
class InsuranceParametersAdmin(admin.ModelAdmin):
    list_display = [
        "effective_from",
        "base_salary",
        "visit_threshold_percent",
        "copay_cap_months",
        "source",
    ]


@admin.register(HospitalLevelSetting)
class HospitalLevelSettingAdmin(admin.ModelAdmin):
    """The hospital's level (central / provincial / district) from a date: it picks the
    wrong-route ratios. A change is a new row from its date, so past visits keep theirs."""

    list_display = ["effective_from", "level", "source"]


@admin.register(RouteRatio)
class RouteRatioAdmin(admin.ModelAdmin):
    """Rows not checked against the text of the law show ``confirmed`` off and say why in
    their note."""

    list_display = [
        "effective_from",
        "route",
        "hospital_level",
        "care_type",
        "ratio_percent",
        "confirmed",
        "source",
        "note",
    ]
    list_filter = ["confirmed", "route", "hospital_level", "care_type"]


class CoverageInline(admin.TabularInline):
    model = InsuranceCoverage
    extra = 0


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    """Identifiers are shown masked only; their hashes are never displayed."""

    list_display = ["code", "masked_name", "citizen_id_masked", "insurance_id_masked"]
    search_fields = ["code"]
    fields = [
        "code",
        "full_name",
        "date_of_birth",
        "phone",
        "email",
        "citizen_id_masked",
        "insurance_id_kind",
        "insurance_id_masked",
    ]
    readonly_fields = ["citizen_id_masked", "insurance_id_kind", "insurance_id_masked"]
    inlines = [CoverageInline]

    @admin.display(description="name")
    def masked_name(self, patient: Patient) -> str:
        return mask_name(patient.full_name)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = readonly_fields = (
        "service_code",
        "name",
        "quantity",
        "unit_price",
        "amount",
        "insurance_share",
        "patient_share",
        "rule",
        "copay",
        "vat_rate",
    )


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    """Read-only: invoices are issued and voided through the API (they post to the ledger)."""

    list_display = ["display_number", "patient", "status", "total", "patient_share", "issued_at"]
    list_filter = ["status", "series", "year"]
    search_fields = ["patient__code", "public_id"]  # a caller quotes the `inv_…` id
    inlines = [InvoiceLineInline]


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = ["id", "encounter", "amount", "currency", "received_at", "received_by"]


@admin.register(LookupAudit)
class LookupAuditAdmin(ReadOnlyAdmin):
    list_display = ["at", "device", "identifier_kind", "found", "patient"]
    list_filter = ["identifier_kind", "found"]


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Refused, stuck or waiting for a replacement")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[EInvoice]) -> QuerySet[EInvoice]:
        if self.value() == "yes":
            return queryset.filter(pk__in=einvoices_needing_attention().values("pk"))
        return queryset


_BUYER_FIELDS = ["buyer_legal_name", "buyer_tax_code", "buyer_address", "buyer_email"]
_EINVOICE_FIELDS: list[Any] = [
    "invoice",
    "kind",
    "original",
    "reason",
    "status",
    "error_code",
    "last_error",
    *_BUYER_FIELDS,
    "transaction_uuid",
    "provider",
    "template_code",
    "symbol",
    "number",
    "lookup_code",
    "tax_authority_code",
    "provider_transaction_id",
    "provider_issued_at",
    "issued_at",
    "attempts",
    "resends",
    "next_attempt_at",
    "created_at",
    "updated_at",
]


@admin.register(EInvoice)
class EInvoiceAdmin(admin.ModelAdmin):
    """E-invoices sent through the provider. A refused one shows the provider's message:
    correct the company buyer here (saved through ``einvoice_buyer_correct``), then *Send
    again*. Issued ones are never edited (a void corrects them by adjustment/replacement)."""

    list_display = [
        "id",
        "invoice",
        "kind",
        "status",
        "symbol",
        "number",
        "tax_authority_code",
        "attempts",
        "error_code",
        "last_error",
        "updated_at",
    ]
    list_filter = [NeedsAttentionFilter, "status", "kind"]
    search_fields = ["=invoice__id", "=number", "=transaction_uuid", "=lookup_code"]
    ordering = ["-id"]
    actions = ["send_again"]
    fields = _EINVOICE_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        editable = obj is not None and obj.status in (
            EInvoiceStatus.REFUSED,
            EInvoiceStatus.PENDING,
        )
        return [f for f in _EINVOICE_FIELDS if not (editable and f in _BUYER_FIELDS)]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: EInvoice, form: Any, change: bool) -> None:
        try:
            einvoice_buyer_correct(
                einvoice=obj,
                legal_name=obj.buyer_legal_name,
                tax_code=obj.buyer_tax_code,
                address=obj.buyer_address,
                email=obj.buyer_email,
            )
        except EInvoiceNotResendable:
            self.message_user(
                request, "Only a refused or waiting e-invoice can be corrected.", messages.ERROR
            )

    @admin.action(description="Send again (after correcting what the provider refused)")
    def send_again(self, request: HttpRequest, queryset: QuerySet[EInvoice]) -> None:
        sent = 0
        for einvoice in queryset.filter(status=EInvoiceStatus.REFUSED).order_by("id"):
            einvoice_resend(einvoice=einvoice)
            sent += 1
        self.message_user(request, f"{sent} e-invoice(s) queued again.", messages.SUCCESS)
