"""Builders for the payments tests, one module per concept:

- ``payments``: payable invoices; payments started through the service as the API starts
  them, pending or already succeeded on each rail; the POST that starts one over HTTP, the
  payers (a pay-link phone) and settings pointing the app at the fake Stripe server;
- ``desk``: terminals, cashiers at the desk with an open session, cash, counts, the drawer;
- ``refunds``: refund requests and payouts over HTTP, and what reached the fake Stripe;
- ``webhooks``: Stripe events and Casso/SePay bank-feed bodies, signed and delivered.

Invoices come from ``tests.billing.builders``; the books are read with
``tests.assertions.balance``.
"""
