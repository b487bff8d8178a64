"""The one module that writes role assignments (who may act in which role, and for which center).

Two sources grant roles: the directory file (commission roles, experts, the people of centers loaded
from it) and the registry (the appointments made by establishing a center or changing its roster).
A center role backed by a current appointment belongs to the registry: a directory reload never
removes it, and only the end of that appointment does.
"""
from __future__ import annotations

from typing import Optional

from sqlmodel import Session, select

from models import RoleAssignment
from models.registry import Appointment

# The center role each roster post (states.staffing.ROLES) gives its holder.
CENTER_ROLE = {"director": "center_director", "deputy": "center_deputy", "secretary": "center_secretary",
               "member": "center_member", "advisor": "center_advisor"}
_POST_OF = {role: post for post, role in CENTER_ROLE.items()}


def _held(session: Session, person_id: int, role: str, center_id: Optional[int]) -> Optional[RoleAssignment]:
    return session.exec(select(RoleAssignment).where(RoleAssignment.person_id == person_id,
                                                     RoleAssignment.role == role,
                                                     RoleAssignment.center_id == center_id)).first()


def _appointed(session: Session, person_id: int, role: str, center_id: Optional[int]) -> bool:
    """The registry holds this role for the person: a current appointment to the matching post."""
    post = _POST_OF.get(role)
    if post is None or center_id is None:
        return False
    return session.exec(select(Appointment.id).where(Appointment.person_id == person_id,
                                                     Appointment.center_id == center_id,
                                                     Appointment.role == post,
                                                     Appointment.ended_on.is_(None))).first() is not None


def grant_post(session: Session, person_id: int, post: str, center_id: int) -> None:
    """The registry appointed the person to `post` on the center: they hold its center role."""
    role = CENTER_ROLE[post]
    if _held(session, person_id, role, center_id) is None:
        session.add(RoleAssignment(person_id=person_id, role=role, center_id=center_id))
        session.flush()


def end_post(session: Session, person_id: int, post: str, center_id: int) -> None:
    """The registry ended the person's appointment (call after ending it): the role goes unless another
    current appointment still grants it."""
    role = CENTER_ROLE[post]
    row = _held(session, person_id, role, center_id)
    if row is not None and not _appointed(session, person_id, role, center_id):
        session.delete(row)
        session.flush()


def sync_directory_roles(session: Session, person_id: int,
                         wanted: set[tuple[str, Optional[int]]]) -> tuple[int, int]:
    """Make the person's directory roles those the file lists; roles the registry holds stay.
    Returns (added, removed)."""
    current = {(r.role, r.center_id): r for r in
               session.exec(select(RoleAssignment).where(RoleAssignment.person_id == person_id))}
    added = removed = 0
    for role, center_id in sorted(wanted - set(current), key=str):
        session.add(RoleAssignment(person_id=person_id, role=role, center_id=center_id))
        added += 1
    for key in set(current) - wanted:
        if _appointed(session, person_id, *key):
            continue  # granted by establishment or a roster change: not the directory's to remove
        session.delete(current[key])
        removed += 1
    session.flush()
    return added, removed
