"""SnapStart: Lambda initialises a published version once, snapshots the environment (memory and disk) and starts
each new execution environment from a restored copy. What init captured that must differ per environment or
start over is refreshed after each restore (``snapshot_restore_py``, AWS's library, runs the hooks):

- the cold start: the restored environment's first invocation logs ``cold_start: true``, emits the ``ColdStart``
  metric (predictor/invocation.py) and answers ``X-Cold-Start: true`` (predictor/web/middleware.py), as any
  new environment's does;
- Python's ``random`` module, seeded once at interpreter start: every copy restored from one snapshot would
  otherwise draw the same sequence (Powertools' log sampling draws from it); reseeded from the kernel's entropy.

Nothing else that init builds depends on the time or on the environment's identity: the settings, the verified
bundle and its version, the app and its routes are the same in every copy; durations, log and EMF timestamps
and the request id are read per request; ``uuid4`` and ``os.urandom`` ask the kernel each time.
"""

from __future__ import annotations

import random
from typing import Any

from snapshot_restore_py import register_after_restore

from predictor.invocation import Invocations
from predictor.observability import logger


def after_restore(app: Any, invocations: Invocations) -> None:
    """The next invocation is a cold start again; ``random`` reseeded; the log sampling decided anew."""
    invocations.restored()
    app.state.first_response.reset()
    random.seed()
    if logger.sampling_rate:
        logger.refresh_sample_rate_calculation()


def register(app: Any, invocations: Invocations) -> None:
    """Registers ``after_restore`` for ``app`` and its ``invocations`` (app.py, at init)."""
    register_after_restore(after_restore, app, invocations)
