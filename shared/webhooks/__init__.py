"""Signed webhooks: task status events written to an outbox in the same
transaction as the change they report, sent by a Celery task, retried with
backoff, and every attempt recorded for the key's owner to see."""
