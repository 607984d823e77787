"""initlint: a linter for the weight-initialization code of PyTorch models."""

__version__ = "0.1.0"
