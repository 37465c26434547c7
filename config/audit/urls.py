from django.urls import path

from config.audit.api import AuditEventListApi

urlpatterns = [
    path("audit/events", AuditEventListApi.as_view(), name="audit-events"),
]
