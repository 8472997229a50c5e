"""``qualitygate deliver``: run the signed result callbacks until SIGTERM.

Owns the process around ``callbacks.deliverer``: logging, the metrics endpoint, the
signals that stop it cleanly (the round in progress finishes; nothing pending is lost), and
turning a missing secret or an unreachable Redis into one line and status 2. The delivery
itself is ``callbacks``'s, imported lazily (the composition root's one edge into it). It
must not deliver anything itself.
"""

from __future__ import annotations

import logging
import signal
import threading

from qualitygate.cli_io import fail
from qualitygate.config import Settings
from qualitygate.errors import QualityGateError

logger = logging.getLogger("qualitygate.deliver")


def run_deliver(settings: Settings) -> None:
    """Deliver results to their callbacks until SIGTERM or SIGINT."""
    from callbacks.deliverer import Deliverer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        deliverer = Deliverer.from_settings(settings)
        deliverer.start()
    except QualityGateError as exc:
        raise fail(exc.message) from None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    deliverer.metrics.serve(settings.delivery.metrics_port)
    logger.info(
        "deliver ready: group %s, consumer %s, %d callback(s), results from %s",
        deliverer.group,
        deliverer.consumer,
        len(deliverer.callbacks),
        deliverer.stream,
    )
    try:
        deliverer.run(stop)
    finally:
        deliverer.close()
    logger.info("deliver stopped")
