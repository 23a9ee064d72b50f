# SPDX-License-Identifier: MIT
"""All scenarios on one object that owns the run's results."""

from .ceiling import Ceiling
from .latency import Latency
from .micro import Micro
from .samewire import SameWire
from .sharing import Sharing
from .tcp import TcpWire


class Harness(Ceiling, SameWire, Sharing, Latency, Micro, TcpWire):
    """Runs the scenarios; results accumulate in self.results."""
