"""E-invoice providers: the adapter interface (``providers``) and the providers implemented
(``viettel``: Viettel S-Invoice)."""
