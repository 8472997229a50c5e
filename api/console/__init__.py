"""``GET /console`` (scope ``admin``): the operator's page for the tuning loop.

Server-rendered HTML, no JavaScript: per language the score distribution of recent results
against the level thresholds, decision shares over time, agreement between the gate and
the moderators' labels, the active config version, the workers' versions and the history,
and the what-if of a pasted fragment (``?whatif=``, a GET: it changes nothing). ``data``
gathers from Redis through the client, ``charts`` draws PNGs with matplotlib, ``page``
writes the HTML with every value from Redis escaped, ``router`` wires them.
"""

from api.console.router import build_router

__all__ = ["build_router"]
