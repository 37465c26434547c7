"""The demo hospital (``manage.py seed_demo``) and its walk-through over HTTP
(``manage.py demo_walkthrough``). It spans every app, so it sits above them all."""
