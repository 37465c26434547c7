from payments.models.cashier import (
    ACTIVE_SESSION_STATUSES,
    COUNTED_SESSION_STATUSES,
    DENOMINATIONS,
    CashierSession,
    CashierSessionStatus,
    CashTransfer,
    PayoutMethod,
    RefundOwedPayout,
    Terminal,
)
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
from payments.models.refunds import Refund, RefundReason, RefundStatus
from payments.models.webhooks import (
    BankTransferSeen,
    ReconciliationItem,
    ReconciliationReason,
    ReconciliationStatus,
    WebhookEvent,
    WebhookProvider,
)

__all__ = [
    "ACTIVE_SESSION_STATUSES",
    "ACTIVE_STATUSES",
    "CAPTURED_STATUSES",
    "COUNTED_SESSION_STATUSES",
    "DENOMINATIONS",
    "BankTransferSeen",
    "CashTransfer",
    "CashierSession",
    "CashierSessionStatus",
    "IdempotencyRecord",
    "OutboxEvent",
    "Payment",
    "PaymentChannel",
    "PaymentMethod",
    "PaymentPurpose",
    "PaymentStatus",
    "PayoutMethod",
    "Provider",
    "ReconciliationItem",
    "ReconciliationReason",
    "ReconciliationStatus",
    "Refund",
    "RefundOwedPayout",
    "RefundReason",
    "RefundStatus",
    "Terminal",
    "WebhookEvent",
    "WebhookProvider",
]
