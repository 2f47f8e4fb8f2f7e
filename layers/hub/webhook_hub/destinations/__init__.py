"""Forwarding events to HTTP destinations, the users' own servers (docs/architecture.md, "Destinations").

``dispatch`` turns each published notification into one task per matching destination; ``forward`` sends a
task's body, signed, and retries or parks it. Not ``webhook_hub.delivery``, which publishes to SNS.
"""
