"""Deliveries of our Celery tasks still in flight, failing or parked (``TaskDelivery``),
counted by ``config.tasks.ReliableTask``, with their admin. Part of the frame."""
