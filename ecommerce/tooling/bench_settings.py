"""Settings for `make bench` (loadtest/bench.py): production's, serving bench_urls, which adds
the machine's ceiling. Production settings and URLs know nothing of the benchmark."""

from ecommerce.settings import *  # noqa: F403

ROOT_URLCONF = "ecommerce.tooling.bench_urls"
