import logging
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from events.relay import Relay

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "The webhook relay: deliver pending events until SIGTERM/SIGINT (then finish the deliveries "
        "in flight and exit). Run as many as needed; they share the work without sending one "
        "delivery twice at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=settings.EVENTS_RELAY_WORKERS, help="Sends at once.")
        parser.add_argument(
            "--per-webhook", type=int, default=2, help="Sends at once to one webhook (a slow one holds no more)."
        )
        parser.add_argument(
            "--poll-ms", type=int, default=settings.EVENTS_RELAY_POLL_MS, help="Wait when nothing is due."
        )
        parser.add_argument(
            "--lease-seconds",
            type=float,
            default=60.0,
            help="How long a claimed delivery is ours; a relay killed mid-send frees it after this.",
        )
        parser.add_argument(
            "--heartbeat-file",
            type=Path,
            default=None,
            help="Touched on every turn of the loop, for a liveness probe (deploy/k8s/events.yaml).",
        )
        parser.add_argument("--once", action="store_true", help="Deliver what is due now, then exit.")

    def handle(self, *args, workers, per_webhook, poll_ms, lease_seconds, heartbeat_file, once, **options):
        if workers < 1 or per_webhook < 1 or poll_ms < 1:
            raise CommandError("--workers, --per-webhook and --poll-ms must be at least 1.")
        if lease_seconds <= settings.WEBHOOKS_TIMEOUT_SECONDS:
            raise CommandError(f"--lease-seconds must exceed the {settings.WEBHOOKS_TIMEOUT_SECONDS} s send timeout.")
        relay = Relay(
            workers=workers,
            per_webhook=per_webhook,
            poll_seconds=poll_ms / 1000,
            lease_seconds=lease_seconds,
            heartbeat=heartbeat_file,
        )
        if once:
            relay.stopping.set()
            relay.run_once()
            relay.run()
            return
        relay.install_signal_handlers()
        relay.run()
