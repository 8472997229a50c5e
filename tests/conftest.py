"""The test suite's plugins: every shared fixture lives in a ``tests/support`` module, declared
here once, so no test or conftest imports fixtures from another conftest.

- ``fixtures``: the tiny test model and settings that use it;
- ``workers``: the tests' own Redis database, queue namespaces and worker processes;
- ``redis_server``: private redis-servers a test may kill, restart or lock down;
- ``sentinel``: a master, a replica and three sentinels, for failover tests;
- ``api``: test API keys, API settings and ``qualitygate serve`` processes.
"""

pytest_plugins = [
    "tests.support.fixtures",
    "tests.support.workers",
    "tests.support.redis_server",
    "tests.support.sentinel",
    "tests.support.api",
]
