"""Test-suite settings shared by every module.

Hypothesis: on a developer's machine every run draws new examples (exploration, the way the flaky
cases of the past were found); in CI (``KZGIS_CI=1``, set by ``.ci/run``) the examples are
derandomised, so a landing is judged on the same examples every time and a failure found once can
be reproduced. A property failure found locally is then fixed, or kept as a plain test.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("KZGIS_CI") else "dev")
