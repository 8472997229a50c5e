"""The optional guard: a multilingual safety model beside the reward model, whose findings
become flags (``guard.<category>``) that escalate a decision exactly as rule hits do.

``settings`` (the typed ``guard`` config section), ``answer`` (the strict parser of a
generative guard's answer), ``labels`` (a classifier's probabilities read against
thresholds), ``prompt`` (the guard's own chat template around untrusted text), ``flags``
(findings to flags), ``model`` (the loaded model, batched to a token budget) and
``testmodel`` (tiny random guards for tests). This package imports nothing at its top, so
the config can import ``settings`` without pulling in torch; it must not import Celery or
Redis, and it must not decide levels or decisions (``qualitygate.grading`` does).
"""
