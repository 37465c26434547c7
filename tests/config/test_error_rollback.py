"""An error answer rolls back what the failing request wrote, and nothing it did not open."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.urls import path
from django.utils.decorators import method_decorator
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from config.errors import Conflict
from tests.assertions import assert_error

WRITTEN = "written-by-a-failing-request"

pytestmark = pytest.mark.urls(__name__)


@transaction.atomic
def group_create_then_conflict() -> None:
    """A service that writes, then finds it cannot go on."""
    Group.objects.create(name=WRITTEN)
    raise Conflict("Someone else got there first.", param="name")


class _FrameApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]


class ServiceFailsApi(_FrameApi):
    def post(self, request: Request) -> Response:
        group_create_then_conflict()
        return Response(status=201)


class WritesThenDomainErrorApi(_FrameApi):
    """Writes in the request's own transaction (ATOMIC_REQUESTS), then fails."""

    def post(self, request: Request) -> Response:
        Group.objects.create(name=WRITTEN)
        raise Conflict("Someone else got there first.", param="name")


@method_decorator(transaction.atomic, name="dispatch")
class AtomicViewWritesThenInvalidApi(_FrameApi):
    """A view that opens its own transaction around the whole request, then fails."""

    def post(self, request: Request) -> Response:
        Group.objects.create(name=WRITTEN)
        raise serializers.ValidationError({"amount": ["Must be positive."]})


class FailsWithoutWritingApi(_FrameApi):
    def post(self, request: Request) -> Response:
        raise Conflict()


class CrashesApi(_FrameApi):
    def post(self, request: Request) -> Response:
        raise RuntimeError("a bug")


urlpatterns = [
    path("service-fails", ServiceFailsApi.as_view()),
    path("writes-then-domain-error", WritesThenDomainErrorApi.as_view()),
    path("atomic-view-writes-then-invalid", AtomicViewWritesThenInvalidApi.as_view()),
    path("fails-without-writing", FailsWithoutWritingApi.as_view()),
    path("crashes", CrashesApi.as_view()),
]

handler404 = "config.error_responses.route_not_found"
handler500 = "config.error_responses.server_error"


def test_domain_error_in_a_service_leaves_nothing_written(db: None, anon_client: APIClient) -> None:
    response = anon_client.post("/service-fails")

    assert_error(response, 409, "conflict", param="name")
    assert not Group.objects.filter(name=WRITTEN).exists()


def test_domain_error_rolls_back_the_request_transaction(
    db: None, anon_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)

    response = anon_client.post("/writes-then-domain-error")

    assert_error(response, 409, "conflict", param="name")
    assert not Group.objects.filter(name=WRITTEN).exists()


def test_validation_error_rolls_back_a_view_own_transaction(
    db: None, anon_client: APIClient
) -> None:
    response = anon_client.post("/atomic-view-writes-then-invalid")

    assert_error(response, 400, "parameter_invalid", param="amount")
    assert not Group.objects.filter(name=WRITTEN).exists()


def test_error_answer_leaves_the_caller_transaction_usable(
    db: None, anon_client: APIClient
) -> None:
    with transaction.atomic():
        Group.objects.create(name="the-caller-wrote-this")
        response = anon_client.post("/fails-without-writing")
        still_there = Group.objects.filter(name="the-caller-wrote-this").exists()

    assert_error(response, 409, "conflict")
    assert still_there
    assert Group.objects.filter(name="the-caller-wrote-this").exists()


def test_unknown_route_in_any_urlconf_answers_route_not_found(
    db: None, anon_client: APIClient
) -> None:
    assert_error(anon_client.get("/nowhere"), 404, "route_not_found")


def test_bug_answers_internal_error_without_details(db: None) -> None:
    client = APIClient(raise_request_exception=False)

    response = client.post("/crashes")

    error = assert_error(response, 500, "internal_error")
    assert "a bug" not in error["message"]
