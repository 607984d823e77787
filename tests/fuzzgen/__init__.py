"""Generators of Python programs for fuzzing initlint (see ``init_idioms``)."""
