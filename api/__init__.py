"""The HTTP API (`qualitygate serve`): items in, results out, CMS webhooks, over FastAPI.

It reaches Redis only through ``qualitygate.client`` and names keys only through
``qualitygate.protocol``, so every guarantee of the queue holds for a CMS that speaks HTTP.
It never imports ``workers`` or ``callbacks``.
"""
