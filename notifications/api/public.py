"""The public verification of a receipt, opened from the QR code printed on it.

Anyone holding the receipt's verification code (12 random characters, on the paper) may
check that it is genuine: the document's form, symbol and number, the seller, the date and
the amount. Nothing personal: no name, no ID number, no services."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import NotFound
from config.pages.language import page_language
from notifications.models import PdfLayout, ReceiptKind
from notifications.rendering import receipt_pdf
from notifications.selectors import public_content, receipt_by_code, receipt_public_fields
from notifications.services.pdfs import receipt_einvoice_lookup


class SellerSerializer(serializers.Serializer):
    name = serializers.CharField()
    address = serializers.CharField()
    tax_code = serializers.CharField()


class PublicEInvoiceSerializer(serializers.Serializer):
    form = serializers.CharField(help_text="mẫu số")
    symbol = serializers.CharField(help_text="ký hiệu")
    number = serializers.CharField()
    tax_authority_code = serializers.CharField(help_text="mã của cơ quan thuế (once received)")
    lookup_code = serializers.CharField(help_text="mã tra cứu")
    lookup_url = serializers.CharField(help_text="the provider's look-up page")


class PublicReceiptSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    kind = serializers.ChoiceField(choices=ReceiptKind.choices)
    title = serializers.CharField()
    form = serializers.CharField()
    symbol = serializers.CharField()
    number = serializers.CharField()
    issued_on = serializers.CharField(help_text="dd/mm/yyyy, Asia/Ho_Chi_Minh")
    seller = SellerSerializer()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    amount_in_words = serializers.CharField()
    payment_method = serializers.CharField()
    reverses = serializers.CharField(
        allow_null=True, help_text="the receipt a refund receipt reverses (null otherwise)"
    )
    reversed_by = serializers.ListField(child=serializers.CharField())
    einvoice = PublicEInvoiceSerializer(
        allow_null=True,
        help_text="The e-invoice covering a payment receipt's services and where to look it "
        "up, once the provider issued it (the receipt itself is not the tax invoice)",
    )


class ReceiptVerifyApi(APIView):
    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    @extend_schema(tags=["receipts"], auth=[], responses={200: PublicReceiptSerializer})
    def get(self, request: Request, code: str) -> Response:
        """Is this receipt genuine? Public: the non-personal fields of the receipt with this
        verification code (`404 not_found` otherwise)."""
        return Response(receipt_public_fields(receipt_by_code(code=code)))


@page_language
def receipt_verify_page(request: HttpRequest, code: str) -> HttpResponse:
    """The page the printed QR code opens (HTML, Vietnamese unless the reader chose
    English), in the look of the pay page."""
    try:
        receipt = receipt_by_code(code=code)
    except NotFound:
        return render(request, "notifications/public/not_found.html", status=404)
    return render(
        request,
        "notifications/public/receipt.html",
        {"receipt": receipt_public_fields(receipt), "code": receipt.verification_code},
    )


@page_language
def receipt_verify_pdf(request: HttpRequest, code: str) -> HttpResponse:
    """The public A4 PDF: the same document without the buyer and the service lines."""
    try:
        receipt = receipt_by_code(code=code)
    except NotFound:
        return render(request, "notifications/public/not_found.html", status=404)
    data = receipt_pdf(
        content=public_content(receipt),
        number=receipt.display_number,
        layout=PdfLayout.A4,
        public=True,
        einvoice=receipt_einvoice_lookup(receipt),
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{receipt.display_number}.pdf"'
    return response
