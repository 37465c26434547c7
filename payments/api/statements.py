"""Bank statement import for finance (multipart upload)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.permissions import IsFinance
from payments.errors import StatementInvalid
from payments.providers.statements import FORMATS
from payments.services.statements import statement_import

MAX_STATEMENT_BYTES = 50 * 1024 * 1024


class StatementOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    bank = serializers.CharField()
    account_number = serializers.CharField()
    file_name = serializers.CharField()
    period_from = serializers.DateField(allow_null=True)
    period_to = serializers.DateField(allow_null=True)
    lines_total = serializers.IntegerField()
    lines_new = serializers.IntegerField(help_text="lines not already stored (file or feed)")
    imported_at = serializers.DateTimeField()


class StatementImportApi(APIView):
    permission_classes = [IsFinance]
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        bank = serializers.ChoiceField(choices=sorted(FORMATS))
        file = serializers.FileField(help_text="the bank's CSV or XLSX statement export")
        account_number = serializers.CharField(
            max_length=40, required=False, default="", help_text="refuse a file of another"
        )

    @extend_schema(
        tags=["reconciliation"],
        request={"multipart/form-data": InputSerializer},
        responses={201: StatementOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        """Import a bank statement: every line stored once (an overlapping file or a bank
        feed's report of a line adds nothing), then the matcher runs. The whole file or
        nothing: `statement_invalid` names the row and the column;
        `statement_wrong_account` for a file of an account that is not the hospital's (or
        not `account_number`)."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        upload = values["file"]
        if upload.size > MAX_STATEMENT_BYTES:
            raise StatementInvalid(
                f"A statement file is at most {MAX_STATEMENT_BYTES // 1024 // 1024} MB.",
                param="file",
            )
        user = request.user
        assert isinstance(user, User)
        statement = statement_import(
            bank=values["bank"],
            content=upload.read(),
            file_name=upload.name or "statement",
            imported_by=user,
            via="api",
            account_number=values["account_number"],
        )
        return Response(StatementOutputSerializer(statement).data, status=201)
