from payments.models.idempotency import IdempotencyRecord
from payments.models.outbox import OutboxEvent
from payments.models.payments import (
    ACTIVE_STATUSES,
    CAPTURED_STATUSES,
    Payment,
    PaymentChannel,
    PaymentMethod,
    PaymentPurpose,
    PaymentStatus,
    Provider,
)
from payments.models.tasks import TaskDelivery
from payments.models.webhooks import (
    BankTransferSeen,
    ReconciliationItem,
    ReconciliationReason,
    ReconciliationStatus,
    Refund,
    RefundStatus,
    WebhookEvent,
    WebhookProvider,
)

__all__ = [
    "ACTIVE_STATUSES",
    "CAPTURED_STATUSES",
    "BankTransferSeen",
    "IdempotencyRecord",
    "OutboxEvent",
    "Payment",
    "PaymentChannel",
    "PaymentMethod",
    "PaymentPurpose",
    "PaymentStatus",
    "Provider",
    "ReconciliationItem",
    "ReconciliationReason",
    "ReconciliationStatus",
    "Refund",
    "RefundStatus",
    "TaskDelivery",
    "WebhookEvent",
    "WebhookProvider",
]
