"""asyncio katas: the `grade` autograder.

The public surface is the ``grade`` command (:mod:`grader.cli`) and, for hidden
suites, :mod:`grader.kata`. Everything else is private (``_``-prefixed).
"""

import sys

__all__ = ["__version__", "entry"]
__version__ = "0.1.0"


def entry() -> None:
    """The console script: ``grade``. Ctrl-C even while it starts up exits with 130."""
    try:
        from .cli import main

        code = main()
    except KeyboardInterrupt:
        sys.stderr.write("grade: interrupted\n")
        code = 130
    sys.exit(code)
