"""The locks adapters run their long jobs under (Telegram's poller, Discord's gateway).

Adapters reach storage only through the core: they take a lock with ``Core.lock(name)``
and run a job under it with :func:`hold`, both defined in ``storage.leader``, which
explains the timing that makes a handover between instances safe.
"""

from storage.leader import Cadence, Leadership, hold

__all__ = ["Cadence", "Leadership", "hold"]
