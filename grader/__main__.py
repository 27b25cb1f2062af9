"""``python -m grader`` is the ``grade`` command."""

from . import entry

entry()
