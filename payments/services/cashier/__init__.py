"""The cashier's desk: terminals, sessions, cash with change, transfers and handover, the
blind close, desk payouts and the Z-report. See README "Cashier desk"."""
