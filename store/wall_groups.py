"""Saved camera groups of the video wall (``/dinding``): create or replace by name, delete,
list. A group keeps camera codes in the order the wall shows them."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Camera, WallGroup

NAME_MAX = 80
MAX_CAMERAS = 400
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class WallGroupError(ValueError):
    """A group that cannot be saved (the message says why, in both languages)."""


def clean_name(name: object) -> str:
    text = " ".join(str(name or "").split()) if isinstance(name, str) else ""
    if not text:
        raise WallGroupError("Nama grup wajib diisi / The group needs a name")
    if len(text) > NAME_MAX:
        raise WallGroupError(
            f"Nama grup paling panjang {NAME_MAX} karakter / At most {NAME_MAX} characters"
        )
    return text


def save_group(session: Session, name: object, codes: object, username: str | None) -> WallGroup:
    """Create the group ``name`` or replace its cameras; codes of unknown cameras are refused
    (nothing is saved)."""
    name = clean_name(name)
    if not isinstance(codes, list | tuple) or not codes:
        raise WallGroupError("Pilih minimal satu kamera / Pick at least one camera")
    if not all(isinstance(c, str) for c in codes):
        raise WallGroupError("Kode kamera tidak valid / Invalid camera code")
    wanted = list(dict.fromkeys(codes))
    if len(wanted) > MAX_CAMERAS:
        raise WallGroupError(
            f"Paling banyak {MAX_CAMERAS} kamera per grup / At most {MAX_CAMERAS} cameras"
        )
    bad = [c for c in wanted if not CODE_RE.fullmatch(c)]
    if bad:
        unknown = bad
    else:
        known = set(session.scalars(select(Camera.code).where(Camera.code.in_(wanted))))
        unknown = [c for c in wanted if c not in known]
    if unknown:
        raise WallGroupError(
            f"Kamera tidak dikenal / Unknown camera: {', '.join(u[:64] for u in unknown[:5])}"
        )
    group = session.scalar(select(WallGroup).where(WallGroup.name == name))
    if group is None:
        group = WallGroup(name=name, cameras=wanted, created_by=username)
        session.add(group)
    else:
        group.cameras = wanted
    session.flush()
    return group


def delete_group(session: Session, group_id: object) -> bool:
    """Delete a saved group; False when there is none with that id."""
    try:
        gid = int(group_id)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False
    group = session.get(WallGroup, gid) if 0 < gid < 2**31 else None
    if group is None:
        return False
    session.delete(group)
    session.flush()
    return True


def list_groups(session: Session) -> list[WallGroup]:
    return list(session.scalars(select(WallGroup).order_by(WallGroup.name)))
