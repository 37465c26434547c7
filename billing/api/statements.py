"""Finance: the statements — the account detail ledger (sổ chi tiết), the cash book (sổ quỹ
tiền mặt) and aged receivables — as JSON or XLSX."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import APIView

from billing.chart import AccountRole, UnmappedRole, account_for
from billing.models import Account
from billing.selectors.ledger import StatementLine
from billing.selectors.ledger_export import in_pieces
from billing.selectors.statements import (
    BUCKETS,
    account_detail,
    aged_receivables,
    cash_accounts,
    cash_book,
    statement_snapshot,
)
from billing.selectors.statements_xlsx import (
    account_detail_xlsx,
    aged_receivables_xlsx,
    cash_book_xlsx,
)
from config.api import fields as api_fields
from config.api.permissions import IsFinance

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMAT_PARAMETER = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=["json", "xlsx"], description="Default `json`."
)
DAYS_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First local day (default today)."),
    OpenApiParameter(
        "to", OpenApiTypes.DATE, description="Last local day, inclusive (default today)."
    ),
]


def _xlsx(content: IO[bytes], stem: str) -> FileResponse:
    return FileResponse(content, as_attachment=True, filename=f"{stem}.xlsx", content_type=XLSX)


class LocalDaysFilter(serializers.Serializer):
    """``from`` and ``to``: local days, both inclusive, default today, any range (the
    statements stream in constant memory); ``format``: json or xlsx."""

    to = api_fields.DateField(required=False)
    format = serializers.ChoiceField(choices=["json", "xlsx"], default="json")

    def get_fields(self) -> dict[str, serializers.Field]:
        # ``from`` is a Python keyword: added unbound, its source is its name.
        fields = super().get_fields()
        fields["from"] = api_fields.DateField(required=False)
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        today = timezone.localdate()
        attrs["to"] = attrs.get("to") or today
        attrs["from"] = attrs.get("from") or min(today, attrs["to"])
        if attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"to": "'to' is before 'from'."})
        return attrs


class DetailLineOutputSerializer(serializers.Serializer):
    entry_id = serializers.IntegerField()
    posted_at = serializers.DateTimeField()
    voucher_type = serializers.CharField()
    voucher_number = serializers.CharField()
    memo = serializers.CharField()
    reference = serializers.CharField()
    counterparty = serializers.CharField()
    contra_accounts = serializers.ListField(
        child=serializers.CharField(), help_text="The entry's other accounts (TK đối ứng)."
    )
    debit = serializers.IntegerField()
    credit = serializers.IntegerField()
    balance = serializers.IntegerField(help_text="Running, on the account's normal side.")


class AccountRefOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    currency = serializers.CharField()


class AccountDetailHeadSerializer(serializers.Serializer):
    account = AccountRefOutputSerializer()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    counterparty = serializers.CharField()
    opening_balance = serializers.IntegerField(
        help_text="Before `from`, on the account's normal side (assets and expenses: debit "
        "minus credit; liabilities, equity, revenue: credit minus debit)."
    )
    total_debit = serializers.IntegerField()
    total_credit = serializers.IntegerField()
    closing_balance = serializers.IntegerField()


class AccountDetailOutputSerializer(AccountDetailHeadSerializer):
    lines = DetailLineOutputSerializer(many=True)


_ENCODER = JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_json = _ENCODER.encode


def flat_representation(serializer: serializers.Serializer) -> Callable[[Any], dict[str, Any]]:
    """``serializer.to_representation`` for a serializer of plain fields, each read from the
    attribute of its own name: the same fields, in the same order, through the same fields'
    ``to_representation``, without DRF's per-field attribute lookup and bookkeeping, which
    was half of a statement request's time at 500 lines (profiled, issue 20). A date-time
    field's time zone (the current one) is looked up once, here, not once per value: that
    lookup was three quarters of the field's cost. ``serializer``: a new instance, its
    fields are bound to it."""
    fields = []
    for name, field in serializer.fields.items():
        if field.source != name or isinstance(field, serializers.BaseSerializer):
            raise ValueError(f"{name}: not a plain field read from its own attribute")
        if isinstance(field, serializers.DateTimeField) and not hasattr(field, "timezone"):
            # A tzinfo (None without USE_TZ): the stubs call it ``str | None``.
            field.timezone = field.default_timezone()  # type: ignore[assignment]
        fields.append((name, field.to_representation))

    def represent(instance: Any) -> dict[str, Any]:
        return {
            name: None if (value := getattr(instance, name)) is None else to_representation(value)
            for name, to_representation in fields
        }

    return represent


def _with_lines(head: dict[str, Any], lines: Iterable[StatementLine]) -> Iterator[str]:
    """``head`` as a JSON object with a last member ``lines``, written line by line."""
    represent = flat_representation(DetailLineOutputSerializer())
    yield _json(head)[:-1] + (',"lines":[' if head else '{"lines":[')
    for number, line in enumerate(lines):
        yield ("," if number else "") + _json(represent(line))
    yield "]}"


def _streamed_json(body: Iterator[str]) -> StreamingHttpResponse:
    """A JSON body streamed in pieces of ~64 KiB as it is written."""
    return StreamingHttpResponse(
        in_pieces(piece.encode() for piece in body), content_type="application/json"
    )


class AccountDetailApi(APIView):
    permission_classes = [IsFinance]

    class FilterSerializer(LocalDaysFilter):
        account = serializers.CharField(required=False, max_length=20, help_text="A code.")
        role = serializers.ChoiceField(
            choices=[role.value for role in AccountRole],
            required=False,
            help_text="Instead of `account`: the account that plays this role.",
        )
        drawer = serializers.IntegerField(required=False, min_value=1, max_value=999)
        provider = serializers.CharField(required=False, max_length=20)
        rate = serializers.CharField(required=False, max_length=4)
        counterparty = serializers.CharField(
            required=False, max_length=40, help_text="Only this customer's lines."
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            attrs = super().validate(attrs)
            if ("account" in attrs) == ("role" in attrs):
                raise serializers.ValidationError({"account": "Give `account` or `role`."})
            code = attrs.get("account")
            if code is None:
                try:
                    code = account_for(
                        AccountRole(attrs["role"]),
                        drawer=attrs.get("drawer"),
                        provider=attrs.get("provider"),
                        rate=attrs.get("rate"),
                    )
                except UnmappedRole as error:
                    raise serializers.ValidationError({"role": str(error)}) from None
            attrs["account"] = Account.objects.filter(code=code).first()
            if attrs["account"] is None:
                raise serializers.ValidationError({"account": f"No account {code!r}."})
            return attrs

    @extend_schema(
        tags=["ledger"],
        parameters=[*DAYS_PARAMETERS, FORMAT_PARAMETER, FilterSerializer],
        responses={
            200: AccountDetailOutputSerializer,
            (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse | FileResponse:
        """Sổ chi tiết tài khoản: an account's (by `account` code, or by `role` with its
        `drawer`, `provider` or `rate`) opening balance before `from`, every line of the
        local days `from`-`to` with its voucher, customer, contra accounts and running
        balance, the debit and credit totals and the closing balance. `counterparty`
        restricts it to one customer (a patient's code, `BHXH`). Any range: the JSON is
        streamed as it is read, the XLSX written row by row to a file streamed back."""
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        arguments = {
            "account": data["account"],
            "date_from": data["from"],
            "date_to": data["to"],
            "counterparty": data.get("counterparty", ""),
        }
        if data["format"] == "xlsx":
            with statement_snapshot():
                workbook = account_detail_xlsx(account_detail(**arguments))
            return _xlsx(
                workbook, f"so-chi-tiet_{data['account'].code}_{data['from']}_{data['to']}"
            )

        def body() -> Iterator[str]:
            with statement_snapshot():
                detail = account_detail(**arguments)
                yield from _with_lines(AccountDetailHeadSerializer(detail).data, detail.lines)

        return _streamed_json(body())


class CashBookSheetHeadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["safe", "drawer"])
    drawer = serializers.IntegerField(allow_null=True)
    account = AccountRefOutputSerializer(source="detail.account")
    opening_balance = serializers.IntegerField(source="detail.opening_balance")
    receipts = serializers.IntegerField(help_text="Cash in (thu): the debits.")
    payments = serializers.IntegerField(help_text="Cash out (chi): the credits.")
    closing_balance = serializers.IntegerField(source="detail.closing_balance")


class CashBookSheetOutputSerializer(CashBookSheetHeadSerializer):
    lines = DetailLineOutputSerializer(many=True, source="detail.lines")


class CashBookApi(APIView):
    permission_classes = [IsFinance]

    class FilterSerializer(LocalDaysFilter):
        account = serializers.CharField(
            required=False,
            max_length=20,
            help_text="Only this cash account (a drawer's, the safe's).",
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            attrs = super().validate(attrs)
            if "account" in attrs:
                cash = {account.code: account for account, _, _ in cash_accounts()}
                if attrs["account"] not in cash:
                    raise serializers.ValidationError(
                        {"account": "Not a cash account (the main safe or a drawer)."}
                    )
                attrs["account"] = cash[attrs["account"]]
            return attrs

    class OutputSerializer(serializers.Serializer):
        date_from = serializers.DateField()
        date_to = serializers.DateField()
        books = CashBookSheetOutputSerializer(many=True)

    @extend_schema(
        tags=["ledger"],
        parameters=[*DAYS_PARAMETERS, FORMAT_PARAMETER, FilterSerializer],
        responses={200: OutputSerializer, (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    def get(self, request: Request) -> StreamingHttpResponse | FileResponse:
        """Sổ quỹ tiền mặt for the local days `from`-`to` (default today): for the main safe
        and each drawer that has held cash (or only `account`), the opening balance, each
        receipt (thu) and payment (chi) with its voucher (PT/PC number), the running balance,
        the day's totals and the closing balance. XLSX: one sheet per safe or drawer."""
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        arguments = {"date_from": data["from"], "date_to": data["to"]}
        if data["format"] == "xlsx":
            with statement_snapshot():
                workbook = cash_book_xlsx(cash_book(**arguments, account=data.get("account")))
            return _xlsx(workbook, f"so-quy_{data['from']}_{data['to']}")

        def body() -> Iterator[str]:
            with statement_snapshot():
                books = cash_book(**arguments, account=data.get("account"))
                days = {"date_from": data["from"], "date_to": data["to"]}
                yield _json(days)[:-1] + ',"books":['
                for number, book in enumerate(books):
                    yield "," if number else ""
                    yield from _with_lines(
                        CashBookSheetHeadSerializer(book).data, book.detail.lines
                    )
                yield "]}"

        return _streamed_json(body())


class BucketsOutputSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {bucket: serializers.IntegerField() for bucket in BUCKETS}


class AgedItemOutputSerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="The sub-ledger key: `invoice:42`.")
    since = serializers.DateField(help_text="Local day of the debit still unpaid.")
    age_days = serializers.IntegerField()
    bucket = serializers.ChoiceField(choices=list(BUCKETS))
    balance = serializers.IntegerField(
        help_text="The part of that debit the customer's credits, paying the oldest debits "
        "first, have not paid."
    )


class AgedCounterpartyOutputSerializer(serializers.Serializer):
    counterparty = serializers.CharField()
    buckets = BucketsOutputSerializer()
    total = serializers.IntegerField()
    credit_balance = serializers.IntegerField(
        help_text="Paid more than owed (overpayment, advance): not aged, not in `total`."
    )
    items = AgedItemOutputSerializer(many=True)


class AgedReceivablesApi(APIView):
    permission_classes = [IsFinance]

    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(
            choices=["patient", "insurance"],
            help_text="The patients' receivable or the insurance fund's.",
        )
        as_of = api_fields.DateField(required=False, help_text="Local day (default today).")
        counterparty = serializers.CharField(required=False, max_length=40)
        format = serializers.ChoiceField(choices=["json", "xlsx"], default="json")

    class OutputSerializer(serializers.Serializer):
        account = AccountRefOutputSerializer()
        as_of = serializers.DateField()
        buckets = BucketsOutputSerializer(help_text="0_30, 31_60, 61_90, over_90 (days).")
        total = serializers.IntegerField()
        credit_balance = serializers.IntegerField(help_text="The customers' credit balances.")
        counterparties = AgedCounterpartyOutputSerializer(many=True)

    @extend_schema(
        tags=["ledger"],
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    def get(self, request: Request) -> Response | FileResponse:
        """Aged receivables at the end of `as_of`: what each patient (`kind=patient`, per
        patient code) or the insurance fund (`kind=insurance`, per social-insurance office)
        owes. Each customer's credits pay their debits oldest first (FIFO), so what is still
        owed is the newest debits' unpaid parts, each aged from its own day in buckets of
        0-30, 31-60, 61-90 and more than 90 days, with totals per customer and per bucket.
        A customer who paid more than they owe shows a `credit_balance`, not aged."""
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        role = (
            AccountRole.PATIENT_RECEIVABLE
            if data["kind"] == "patient"
            else AccountRole.INSURANCE_RECEIVABLE
        )
        account = Account.objects.get(code=account_for(role))
        aged = aged_receivables(
            account=account,
            as_of=data.get("as_of") or timezone.localdate(),
            counterparty=data.get("counterparty", ""),
        )
        if data["format"] == "xlsx":
            return _xlsx(aged_receivables_xlsx(aged), f"tuoi-no_{data['kind']}_{aged.as_of}")
        return Response(self.OutputSerializer(aged).data)
