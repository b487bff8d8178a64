"""The `qcflow` command."""
from qcflow.cli.app import main

__all__ = ["main"]
