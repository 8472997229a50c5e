"""CMS webhook intake: ``POST /v1/intake/{source}`` turns a CMS's own publish webhook into a
ContentItem on the queue.

A request is authenticated first (an HMAC signature over the raw body with a timestamp
window and a replay cache, or a bearer token: ``signature``, ``replay``), then parsed and
mapped by the source's JMESPath expressions (``mapping``), then enqueued exactly as
``POST /v1/items`` enqueues (``enqueue``). The package adds one router to the app
(``router.build_router``); it reaches Redis only through the ``QualityGateClient`` it is
handed and names keys only through ``qualitygate.protocol.Keys``.
"""

from api.intake.router import build_router

__all__ = ["build_router"]
