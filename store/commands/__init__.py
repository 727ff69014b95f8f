"""What happens when an incident or a unit changes: one command per change, each in one place.

A command loads the row (locked where two operators may race for it), checks the version the operator saw,
applies the change, writes the audit record, publishes the event through the writer's hub and commits: one
transaction, all of it or nothing. Routes parse the request, call a command and serialise what it returns.

- ``incidents``: edit details and set the location (``update``), move through the lifecycle
  (``change_state``), fold a duplicate into another call (``merge``). A new call is written by the
  group-commit call writer (``store.intake``, ``store.incidents.record_calls``).
- ``units``: report a position (``set_position``), send units (``dispatch``), and the release step every
  command that ends an incident takes (``release``).
"""

from store.commands.writer import Writer

__all__ = ["Writer"]
