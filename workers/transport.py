"""kombu's Redis transport, except that a queue entry that is not a kombu message is
logged and dropped instead of stopping the worker.

kombu parses each entry BRPOP takes off the queue (a JSON envelope with ``body``,
``headers`` and ``properties``) outside any of Celery's error handling: an entry that is
not JSON, or JSON without ``properties``, raised out of the event loop, and the worker
exited with ``Unrecoverable error``. BRPOP has already removed the entry then, and it
carries no task id to answer under, so it is logged (without its content) and dropped.
"""

from __future__ import annotations

import logging
from queue import Empty
from typing import Any

from kombu.transport import redis as kombu_redis

logger = logging.getLogger("qualitygate.worker")


class Channel(kombu_redis.Channel):
    def _brpop_read(self, **options: Any) -> bool:
        try:
            return bool(super()._brpop_read(**options))
        except Empty:
            raise
        except self.connection_errors:
            raise
        except Exception as exc:
            logger.error(
                "dropped a queue entry that is not a kombu message (%s); it had no task id "
                "to answer under",
                type(exc).__name__,
            )
            return True


class Transport(kombu_redis.Transport):
    Channel = Channel
