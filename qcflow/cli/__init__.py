"""The `qcflow` command."""
from qcflow.cli.main import main

__all__ = ["main"]
