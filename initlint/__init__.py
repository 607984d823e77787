"""initlint: a linter for the weight-initialization code of PyTorch models.

The Python API is :func:`lint` (the findings of a source text) and :func:`fix` (the text with its
fixes applied); see :mod:`initlint.api`. Importing this package loads neither libcst nor torch.
"""

__version__ = "0.1.0"

from initlint.api import FixResult, fix, lint  # light: its heavy imports are inside the functions

__all__ = ["FixResult", "__version__", "fix", "lint"]
