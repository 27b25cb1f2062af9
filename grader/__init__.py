"""asyncio katas: the `grade` autograder.

The public surface is the ``grade`` command (:mod:`grader.cli`) and, for hidden
suites, :mod:`grader.kata`. Everything else is private (``_``-prefixed).
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
