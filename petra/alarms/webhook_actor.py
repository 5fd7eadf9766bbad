"""`twilio-webhooks`: the actor that owns the webhook listener (`webhooks.WebhookApp`) and its event loop."""

from __future__ import annotations

import logging

from petra.alarms import webhooks
from petra.alarms.service import AlarmService
from petra.alarms.webhooks import SERVER_NAME, TwilioWebhooks, WebhookApp
from petra.control.http_host import BoundSocket, HttpHost, PlaintextRefused, http_rejections, is_loopback
from petra.control.server import bind_tcp
from supervision import SupervisedActor

log = logging.getLogger(__name__)


class WebhookActor(SupervisedActor):
    """Owns the webhook listener and its event loop; a restart binds again."""

    def __init__(self, service: AlarmService) -> None:
        super().__init__()
        self.service = service
        self.host: HttpHost | None = None

    def on_start(self) -> None:
        self.service.attach(self.registry, self.path)
        settings = self.service.config.twilio
        assert settings is not None and settings.webhook is not None
        hook = settings.webhook
        plaintext = not is_loopback(hook.host) or not hook.public_url.startswith("https:")
        if self.service.plant.config.security.require_tls and plaintext:
            raise PlaintextRefused(
                f"security.require_tls is set but the Twilio webhook listener speaks plain HTTP on {hook.host} "
                f"for {hook.public_url}: bind twilio.webhook.host to 127.0.0.1 behind a TLS-terminating proxy "
                "and give an https public_url")
        limits = webhooks.LIMITS  # read at start, as the WebhookApp reads it, so both serve the same limits
        sock = bind_tcp(hook.host, hook.port, limits, what="Twilio webhook")
        try:
            rejected = http_rejections(self.service.plant.metrics.registry)
            app = WebhookApp(TwilioWebhooks(self.service), rejected)
            self.host = HttpHost(app.app, [BoundSocket(sock)], limits, SERVER_NAME, rejected)
            self.host.start()
        except BaseException:
            sock.close()
            raise
        log.info("Twilio webhooks on http://%s:%d (public URL %s)", hook.host, self.bound_port(), hook.public_url)
        if not settings.auth_token:
            log.error("no Twilio auth token: every webhook will be refused")

    def bound_port(self) -> int:
        return 0 if self.host is None else int(self.host.sockets[0].sock.getsockname()[1])

    def check_health(self) -> None:
        if self.host is not None and not self.host.is_alive():
            raise RuntimeError("webhook listener's event loop stopped")

    def release(self) -> None:
        host, self.host = self.host, None
        if host is not None:
            host.stop()
