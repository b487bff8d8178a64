"""The engine: the one place a case changes (fire, open, choices), with its deadlines and outbox."""
from qcflow.engine.core import (
    FireResult, actor_by_email, actor_of, choices, choices_after, create_case, fire, fire_as_system, load_case, open_case, person_by_email,
    view_of, workflow_for,
)

__all__ = ["FireResult", "actor_by_email", "actor_of", "choices", "choices_after", "create_case", "fire", "fire_as_system", "load_case", "open_case",
           "person_by_email", "view_of", "workflow_for"]
