"""RE2 compilation: the one place that says how the project's patterns are compiled.

Every pattern that reads untrusted text runs on RE2 (linear time, whatever the input). The
options live here once, so the config check compiles an operator's pattern exactly as the
rules engine will run it. This module must not hold patterns of its own.
"""

from __future__ import annotations

import re2


def compile_re2(pattern: str, *, spans_only: bool = False) -> re2._Regexp:
    """``pattern`` compiled quietly (errors raise ``re2.error``, nothing goes to stderr).

    ``spans_only``: without captures RE2 finds both ends of a match with its DFA instead of
    running its slower submatch engine over every match (2 s for ``(.*a){100}`` on 200K
    characters); use it wherever only spans are read.
    """
    options = re2.Options()
    options.log_errors = False
    options.never_capture = spans_only
    return re2.compile(pattern, options)
