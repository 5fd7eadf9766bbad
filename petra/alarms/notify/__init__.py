"""Notifiers: Twilio (SMS, voice) and SMTP e-mail back-ends and the `notify:<channel>` actor.

Back-ends raise `DeliveryError(transient=...)`; the actor retries transient
failures with exponential back-off and records every outcome.
"""

from petra.alarms.notify.base import Backend, DeliveryError, SendResult

__all__ = ["Backend", "DeliveryError", "SendResult"]
