"""Layer: use cases (applications, death intake, registry, meetings, reports, directory, sweep, read models).

Importing the package registers the facts and effects the engine's workflows need (engine.plugins).
"""
from qcflow.services import applications, deaths, registry  # noqa: F401  (register plug-ins)
