"""The cashier's desk: terminals, sessions, cash with change, transfers and handover, the
blind close, desk payouts and the Z-report's PDF; what the desk reads (sessions, cash figures,
the Z-report) is in ``payments.selectors``. See README "Cashier desk"."""
