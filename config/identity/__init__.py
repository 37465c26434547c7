"""Who calls the API: staff users (their roles are Django groups), their API tokens, and
devices (kiosks, the HIS) with their keys. Part of the frame: it imports no app."""
