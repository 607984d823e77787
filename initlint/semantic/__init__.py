"""The semantic model of one file: built once, read by every rule."""

from initlint.semantic.model import SemanticModel

__all__ = ["SemanticModel"]
