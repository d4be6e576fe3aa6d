import os

from hypothesis import HealthCheck, settings

# CI is deterministic: fixed examples (derandomize) and no per-example deadline,
# since these shared machines are noisy and no test may depend on wall time.
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=30,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=30)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
