"""Messages get a public id (``msg_`` and 80 random bits): the API shows a receipt's messages
to kiosks and pay links, and the integer key is a sequence. Existing messages are given one
here, in batches."""

from django.db import migrations

import notifications.models
from billing.public_ids import public_id_operations


class Migration(migrations.Migration):
    dependencies = [("notifications", "0005_receipt_public_id")]

    operations = public_id_operations("notifications", "message", notifications.models.new_message_id)
