"""The ``qualitygate calibrate`` job: fit per-language calibration and level thresholds
from an operator's own content, and show what they would do.

One module a step, in the order a run takes them:

- ``samples``: labelled JSONL lines become raw rewards per language (the gate's own
  ``prepare`` and scorer, the model loaded only when a line lacks ``raw_reward``);
- ``methods``: the three fitting methods (Platt scaling, isotonic and percentile tables);
- ``metrics``: ROC AUC, Brier score, expected calibration error, reliability curves;
- ``fit``: one language's fit, chosen and measured out-of-fold, or the reason it was kept;
- ``thresholds``: level thresholds tuned to a target (``precision>=0.9``, ...);
- ``confusion``: what a set of thresholds would have done to the labelled content;
- ``run``: the steps above over every language, as one outcome;
- ``report`` and ``plot``: the tables, the YAML fragment and the PNG a person reads;
- ``extras`` and ``errors``: the optional dependencies and what goes wrong.

Runtime calibration (turning a raw reward into a score while grading) is
``qualitygate.calibration``, not this package: nothing here runs in a worker. This package
must not print, exit or choose where output goes (``qualitygate.cli`` does), and imports
scikit-learn and matplotlib (the ``calibrate`` extra) only where they are used.
"""
