"""evidence: a command-line literature and evidence assistant with a citation index."""

__version__ = "0.1.0"
