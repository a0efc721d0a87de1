"""The trainer (`python -m training`). Importing this package must not import torch: the bot imports
training.config and training.events.

Idle OpenMP threads sleep instead of spinning (OMP_WAIT_POLICY=PASSIVE, unless already set): libgomp reads
it once, when torch loads, so it is set here, before any entry point (`python -m training`, the warm
spare, the prediction and export workers) imports torch. Spinning threads hold on to cores that other
work needs; on a 2-core host with one core busy elsewhere, 2 threads trained 2.2x faster with it
(benchmarks/shared_host.py).
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
