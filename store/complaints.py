"""E-Lapor complaint workflow: intake, validation, photos, status transitions, deadlines,
duplicate hints, auto-close and overdue flags.

Every channel (web form, SMS gateway, Open311, operator) creates reports through
:meth:`ComplaintService.submit`, and every status change goes through
:func:`apply_transition`, which refuses transitions the workflow does not allow and records a
:class:`~store.models.ComplaintEvent` (who, when, note) for each change.

Statuses (LAPOR! practice)::

    new ──> verified ──> dispatched ──> in_progress ──> resolved ──> closed
     │          │           │  ▲            │              │  (auto-close after 10 working
     ├──────────┴─> rejected│  └─(re-route)─┘              │   days without reply)
     └──────────┴─> duplicate                  in_progress <┘ (reopened)

Deadlines count working days (``store.workdays``): dispatch within 3 working days of intake,
OPD follow-up within 5 working days of dispatch, auto-close 10 working days after the OPD
reports the work done without a reply from the reporter.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
import struct
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Date, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.bilingual import BilingualError, pick
from store.models import (
    Complaint,
    ComplaintCellMonth,
    ComplaintChannel,
    ComplaintEvent,
    ComplaintStatus,
    Opd,
    PrivacyMode,
)
from store.rollups import analyze_tables
from store.workdays import WorkCalendar

logger = logging.getLogger(__name__)

S = ComplaintStatus

DISPATCH_WORKING_DAYS = 3
FOLLOWUP_WORKING_DAYS = 5
AUTOCLOSE_WORKING_DAYS = 10

#: Statuses of a report still being handled (shown live, counted as open in Open311).
OPEN_STATUSES: tuple[str, ...] = (S.NEW, S.VERIFIED, S.DISPATCHED, S.IN_PROGRESS)
#: Statuses that end the workflow.
FINAL_STATUSES: tuple[str, ...] = (S.CLOSED, S.REJECTED, S.DUPLICATE)

#: Allowed transitions: from status -> statuses it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.VERIFIED, S.REJECTED, S.DUPLICATE}),
    S.VERIFIED: frozenset({S.DISPATCHED, S.REJECTED, S.DUPLICATE}),
    S.DISPATCHED: frozenset({S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.DISPATCHED, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),
    S.CLOSED: frozenset(),
    S.REJECTED: frozenset(),
    S.DUPLICATE: frozenset(),
}

#: What an OPD user may do with a report dispatched to their own OPD (role ``opd``): start and
#: finish the follow-up, always with a note. Verifying, dispatching, re-routing, rejecting,
#: duplicates, closing and reopening stay with the command center's operators.
OPD_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DISPATCHED: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.RESOLVED}),
}
#: Statuses in which a report dispatched to an OPD is visible to that OPD's users.
OPD_VISIBLE_STATUSES: tuple[str, ...] = (S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED)

#: Complaint categories: code -> (Bahasa Indonesia, English). Routing to an OPD comes from
#: ``Opd.categories`` (data/opd.csv).
CATEGORIES: dict[str, tuple[str, str]] = {
    "road_damage": ("Jalan rusak", "Road damage"),
    "drainage": ("Drainase / saluran air", "Drainage"),
    "flood": ("Banjir / genangan", "Flooding"),
    "waste": ("Sampah tidak terangkut", "Uncollected waste"),
    "illegal_dumping": ("Pembuangan sampah liar", "Illegal dumping"),
    "traffic": ("Kemacetan lalu lintas", "Traffic congestion"),
    "traffic_light": ("Lampu lalu lintas", "Traffic lights"),
    "illegal_parking": ("Parkir liar", "Illegal parking"),
    "street_vendors": ("PKL / pedagang kaki lima", "Street vendors"),
    "street_children": ("Anak jalanan", "Street children"),
    "public_order": ("Ketertiban umum", "Public order"),
    "crime": ("Kriminalitas", "Crime"),
    "illegal_racing": ("Balap liar", "Illegal racing"),
    "fire": ("Kebakaran", "Fire"),
    "health": ("Kesehatan lingkungan", "Environmental health"),
    "market": ("Pasar", "Markets"),
    "permits": ("Perizinan", "Permits"),
    "tax": ("Pajak daerah", "Local taxes"),
    "disaster": ("Bencana", "Disaster"),
    "other": ("Lainnya", "Other"),
}

STATUS_LABELS: dict[str, tuple[str, str]] = {
    S.NEW: ("Baru", "New"),
    S.VERIFIED: ("Terverifikasi", "Verified"),
    S.DISPATCHED: ("Diteruskan ke OPD", "Sent to agency"),
    S.IN_PROGRESS: ("Ditindaklanjuti", "In progress"),
    S.RESOLVED: ("Selesai ditangani", "Resolved"),
    S.CLOSED: ("Ditutup", "Closed"),
    S.REJECTED: ("Ditolak", "Rejected"),
    S.DUPLICATE: ("Duplikat", "Duplicate"),
}

#: Messages of this module: key -> (Bahasa Indonesia, English), with {placeholders}.
MESSAGES: dict[str, tuple[str, str]] = {
    "category": ("Pilih kategori laporan.", "Choose a report category."),
    "category_unknown": ("Kategori '{value}' tidak dikenal.", "Unknown category '{value}'."),
    "description_missing": ("Isi laporan wajib diisi.", "The description is required."),
    "description_short": (
        "Isi laporan terlalu pendek (minimal {min} karakter).",
        "The description is too short (at least {min} characters).",
    ),
    "description_long": (
        "Isi laporan terlalu panjang (maksimal {max} karakter).",
        "The description is too long (at most {max} characters).",
    ),
    "title_long": (
        "Judul terlalu panjang (maksimal {max} karakter).",
        "The title is too long (at most {max} characters).",
    ),
    "location_missing": (
        "Tentukan lokasi: klik peta atau tulis alamat.",
        "Give the location: click the map or type an address.",
    ),
    "location_pair": (
        "Lintang dan bujur harus diisi keduanya.",
        "Latitude and longitude must both be given.",
    ),
    "location_invalid": (
        "Koordinat tidak valid (lintang -90..90, bujur -180..180).",
        "Invalid coordinates (latitude -90..90, longitude -180..180).",
    ),
    "location_far": (
        "Lokasi berada di luar wilayah layanan kota (lebih dari {km} km dari pusat kota).",
        "The location is outside the city's service area (more than {km} km from the centre).",
    ),
    "address_short": (
        "Alamat terlalu pendek (minimal {min} karakter).",
        "The address is too short (at least {min} characters).",
    ),
    "address_long": (
        "Alamat terlalu panjang (maksimal {max} karakter).",
        "The address is too long (at most {max} characters).",
    ),
    "privacy": ("Pilihan privasi tidak dikenal.", "Unknown privacy choice."),
    "name_long": (
        "Nama terlalu panjang (maksimal {max} karakter).",
        "The name is too long (at most {max} characters).",
    ),
    "contact_invalid": (
        "Kontak harus nomor HP (mis. 0812xxxxxxx) atau alamat e-mail.",
        "Contact must be a mobile number (e.g. 0812xxxxxxx) or an e-mail address.",
    ),
    "photo_large": (
        "Foto terlalu besar (maksimal {max_mb} MB).",
        "The photo is too large (at most {max_mb} MB).",
    ),
    "photo_type": (
        "Foto harus berformat JPEG atau PNG.",
        "The photo must be a JPEG or PNG image.",
    ),
    "photo_corrupt": (
        "Foto tidak dapat dibaca (berkas rusak).",
        "The photo cannot be read (damaged file).",
    ),
    "photo_pixels": (
        "Resolusi foto terlalu besar (maksimal {mp} megapiksel).",
        "The photo resolution is too large (at most {mp} megapixels).",
    ),
    "not_found": ("Laporan tidak ditemukan.", "Report not found."),
    "transition": (
        "Status '{src}' tidak dapat diubah menjadi '{dst}'. Yang diperbolehkan: {allowed}.",
        "Status '{src}' cannot change to '{dst}'. Allowed: {allowed}.",
    ),
    "note_required": (
        "Catatan wajib diisi untuk perubahan ini.",
        "A note is required for this change.",
    ),
    "opd_required": (
        "Pilih OPD tujuan untuk meneruskan laporan.",
        "Choose the agency (OPD) to send the report to.",
    ),
    "opd_unknown": ("OPD tidak dikenal.", "Unknown agency (OPD)."),
    "duplicate_target": (
        "Tentukan laporan asli (nomor pelacakan) untuk menandai duplikat.",
        "Give the original report (tracking ID) to mark a duplicate.",
    ),
    "duplicate_self": (
        "Laporan tidak dapat menjadi duplikat dirinya sendiri.",
        "A report cannot be a duplicate of itself.",
    ),
    "opd_forbidden": (
        "OPD hanya dapat menindaklanjuti laporan: '{src}' tidak dapat diubah menjadi '{dst}' oleh "
        "OPD. Yang diperbolehkan: {allowed}.",
        "An agency can only follow up reports: '{src}' cannot change to '{dst}' by an agency. "
        "Allowed: {allowed}.",
    ),
    "followup_note_required": (
        "Catatan tindak lanjut wajib diisi (apa yang sudah/akan dikerjakan).",
        "A follow-up note is required (what was or will be done).",
    ),
    "none": ("(tidak ada)", "(none)"),
}


def message(key: str, lang: str = "id", **fmt: Any) -> str:
    return pick(MESSAGES, key, lang, **fmt)


def category_label(code: str | None, lang: str = "id") -> str:
    if not code:
        return "—"
    pair = CATEGORIES.get(code)
    if pair is None:
        return code
    return pair[1] if lang == "en" else pair[0]


def status_label(code: str | None, lang: str = "id") -> str:
    if not code:
        return "—"
    pair = STATUS_LABELS.get(code)
    if pair is None:
        return code
    return pair[1] if lang == "en" else pair[0]


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
class ComplaintError(BilingualError):
    """A refusal with a message in both languages (``.text(lang)``)."""

    MESSAGES = MESSAGES


class ComplaintNotFound(ComplaintError):
    def __init__(self) -> None:
        super().__init__("not_found")


class TransitionError(ComplaintError):
    """The workflow does not allow the change (or it lacks a note, an OPD, a target)."""


class ValidationError(ComplaintError):
    """One or more fields are invalid: ``errors`` maps field -> (key, fmt)."""

    def __init__(self, errors: dict[str, tuple[str, dict[str, Any]]]) -> None:
        self.errors = errors
        first_key, first_fmt = next(iter(errors.values()))
        super().__init__(first_key, **first_fmt)

    def messages(self, lang: str = "id") -> dict[str, str]:
        return {f: message(k, lang, **fmt) for f, (k, fmt) in self.errors.items()}


# --------------------------------------------------------------------------------------------
# Input and validation
# --------------------------------------------------------------------------------------------
DESCRIPTION_MIN, DESCRIPTION_MAX = 10, 4000
TITLE_MAX, ADDRESS_MIN, ADDRESS_MAX, NAME_MAX = 200, 5, 300, 200
SERVICE_RADIUS_KM = 60.0
MAX_PHOTO_PIXELS = 40_000_000
MAX_PHOTO_SIDE = 2560

_PHONE = re.compile(r"^\+?[0-9]{8,15}$")
_EMAIL = re.compile(r"^[^@\s<>]{1,64}@[^@\s<>]{1,190}\.[A-Za-z]{2,24}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: Any) -> str:
    """Trimmed text in NFC without control characters (newlines and tabs kept)."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return _CONTROL.sub("", text).strip()


def normalise_phone(value: str) -> str:
    """Indonesian mobile numbers to +62... form (``0812...``, ``62812...``, ``+62 812-...``)."""
    digits = re.sub(r"[\s\-().]", "", value)
    if digits.startswith("+"):
        return digits
    if digits.startswith("62"):
        return "+" + digits
    if digits.startswith("0"):
        return "+62" + digits[1:]
    return digits


@dataclass
class NewComplaint:
    """A report as it arrives from any channel, before validation."""

    category: str | None
    description: str | None
    lat: float | str | None = None
    lon: float | str | None = None
    address: str | None = None
    title: str | None = None
    privacy: str = PrivacyMode.NORMAL
    reporter_name: str | None = None
    reporter_contact: str | None = None
    channel: str = ComplaintChannel.WEB
    external_id: str | None = None
    kecamatan: str | None = None
    photo: bytes | None = None


@dataclass
class CleanComplaint:
    category: str
    description: str
    lat: float | None
    lon: float | None
    address: str | None
    title: str | None
    privacy: str
    reporter_name: str | None
    reporter_contact: str | None
    channel: str
    external_id: str | None
    kecamatan: str | None


def _float(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    result = float(value)
    if math.isnan(result) or math.isinf(result):
        raise ValueError("not finite")
    return result


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def validate(
    data: NewComplaint,
    *,
    center: tuple[float, float] | None = None,
    radius_km: float = SERVICE_RADIUS_KM,
) -> CleanComplaint:
    """Check every field; raise :class:`ValidationError` listing every problem at once."""
    errors: dict[str, tuple[str, dict[str, Any]]] = {}
    category = clean_text(data.category)
    if not category:
        errors["category"] = ("category", {})
    elif category not in CATEGORIES:
        errors["category"] = ("category_unknown", {"value": category[:40]})
    description = clean_text(data.description)
    if not description:
        errors["description"] = ("description_missing", {})
    elif len(description) < DESCRIPTION_MIN:
        errors["description"] = ("description_short", {"min": DESCRIPTION_MIN})
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = ("description_long", {"max": DESCRIPTION_MAX})
    title = clean_text(data.title) or None
    if title and len(title) > TITLE_MAX:
        errors["title"] = ("title_long", {"max": TITLE_MAX})
    lat = lon = None
    try:
        lat, lon = _float(data.lat), _float(data.lon)
    except (TypeError, ValueError):
        errors["location"] = ("location_invalid", {})
    if "location" not in errors:
        if (lat is None) != (lon is None):
            errors["location"] = ("location_pair", {})
        elif lat is not None and lon is not None:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                errors["location"] = ("location_invalid", {})
            elif center and haversine_m(lat, lon, *center) > radius_km * 1000:
                errors["location"] = ("location_far", {"km": int(radius_km)})
    address = clean_text(data.address) or None
    if address and len(address) < ADDRESS_MIN:
        errors["address"] = ("address_short", {"min": ADDRESS_MIN})
    elif address and len(address) > ADDRESS_MAX:
        errors["address"] = ("address_long", {"max": ADDRESS_MAX})
    if lat is None and not address and "location" not in errors and "address" not in errors:
        errors["location"] = ("location_missing", {})
    privacy = clean_text(data.privacy) or PrivacyMode.NORMAL
    if privacy not in {p.value for p in PrivacyMode}:
        errors["privacy"] = ("privacy", {})
    name = clean_text(data.reporter_name) or None
    if name and len(name) > NAME_MAX:
        errors["reporter_name"] = ("name_long", {"max": NAME_MAX})
    contact = clean_text(data.reporter_contact) or None
    if contact:
        if "@" in contact:
            if not _EMAIL.match(contact):
                errors["reporter_contact"] = ("contact_invalid", {})
        else:
            contact = normalise_phone(contact)
            if not _PHONE.match(contact):
                errors["reporter_contact"] = ("contact_invalid", {})
    if errors:
        raise ValidationError(errors)
    return CleanComplaint(
        category=category,
        description=description,
        lat=round(lat, 6) if lat is not None else None,
        lon=round(lon, 6) if lon is not None else None,
        address=address,
        title=title,
        privacy=privacy,
        reporter_name=name,
        reporter_contact=contact,
        channel=data.channel,
        external_id=clean_text(data.external_id)[:128] or None,
        kecamatan=clean_text(data.kecamatan)[:100] or None,
    )


# --------------------------------------------------------------------------------------------
# Photos: JPEG/PNG by magic bytes, size- and pixel-limited, re-encoded (EXIF stripped)
# --------------------------------------------------------------------------------------------
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    n = len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + length
    return None


def megabytes(n_bytes: int) -> str:
    """A size limit as people read it: '5', '0.2' (MB)."""
    mb = n_bytes / 1024 / 1024
    return f"{mb:.0f}" if mb >= 1 else f"{mb:.1f}"


def sanitize_photo(
    data: bytes, max_bytes: int, max_pixels: int = MAX_PHOTO_PIXELS
) -> tuple[bytes, str]:
    """Validate a photo and re-encode it without metadata. Returns (bytes, extension).

    Size, type and pixel count (from the PNG/JPEG header) are checked before anything is
    decoded; a large JPEG is decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling) when the
    stored picture is that much smaller anyway."""
    import cv2
    import numpy as np

    if len(data) > max_bytes:
        raise ValidationError({"photo": ("photo_large", {"max_mb": megabytes(max_bytes)})})
    if data.startswith(JPEG_MAGIC):
        ext, size = ".jpg", _jpeg_size(data)
    elif data.startswith(PNG_MAGIC):
        ext, size = ".png", _png_size(data)
    else:
        raise ValidationError({"photo": ("photo_type", {})})
    if size is None:
        raise ValidationError({"photo": ("photo_corrupt", {})})
    if size[0] * size[1] > max_pixels or 0 in size:
        mp = f"{max_pixels / 1_000_000:g}"
        raise ValidationError({"photo": ("photo_pixels", {"mp": mp})})
    flag = cv2.IMREAD_COLOR  # applies EXIF rotation (so do the reduced flags)
    if ext == ".jpg":
        for factor, reduced in ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                                (2, cv2.IMREAD_REDUCED_COLOR_2)):  # fmt: skip
            if max(size) // factor >= MAX_PHOTO_SIDE:
                flag = reduced
                break
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    if image is None or image.size == 0:
        raise ValidationError({"photo": ("photo_corrupt", {})})
    h, w = image.shape[:2]
    scale = MAX_PHOTO_SIDE / max(h, w)
    if scale < 1:
        image = cv2.resize(image, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
    params = [cv2.IMWRITE_JPEG_QUALITY, 85] if ext == ".jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 6]
    ok, encoded = cv2.imencode(ext, image, params)
    if not ok:  # pragma: no cover - OpenCV always encodes a decoded image
        raise ValidationError({"photo": ("photo_corrupt", {})})
    return encoded.tobytes(), ext


# --------------------------------------------------------------------------------------------
# Tracking IDs: LPR-YYMM-XXXXXXXX, Crockford base32 (no I, L, O, U), 40 random bits
# --------------------------------------------------------------------------------------------
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TRACKING = re.compile(r"^LPR-\d{4}-[0-9A-HJKMNP-TV-Z]{8}$")


def new_tracking_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    body = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"LPR-{now:%y%m}-{body}"


def normalise_tracking_id(raw: str | None) -> str | None:
    """Accept what people type (lower case, spaces, O for 0, I/L for 1); None if malformed."""
    if not raw:
        return None
    text = re.sub(r"[\s_]", "", str(raw)).upper()
    if text.startswith("DEMO-"):  # demo rows keep their readable ids
        return text if re.fullmatch(r"DEMO-\d{4}-\d{6}", text) else None
    parts = text.split("-")
    if len(parts) != 3 or parts[0] != "LPR":
        return None
    body = parts[2].replace("O", "0").replace("I", "1").replace("L", "1")
    candidate = f"LPR-{parts[1]}-{body}"
    return candidate if _TRACKING.match(candidate) else None


# --------------------------------------------------------------------------------------------
# Routing, transitions, deadlines
# --------------------------------------------------------------------------------------------
def default_opd(session: Session, category: str) -> Opd | None:
    """The OPD that handles ``category`` by default (data/opd.csv ``categories``)."""
    for opd in session.scalars(select(Opd).order_by(Opd.id)):
        if category in (opd.categories or []):
            return opd
    return None


@dataclass
class TransitionRequest:
    to_status: str
    actor: str
    note: str | None = None
    opd_id: int | None = None
    duplicate_of_id: int | None = None


def allowed_transitions(status: str) -> frozenset[str]:
    return TRANSITIONS.get(status, frozenset())


def apply_transition(
    session: Session,
    complaint: Complaint,
    req: TransitionRequest,
    calendar: WorkCalendar,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Move ``complaint`` to ``req.to_status`` and record the event; refuse invalid moves."""
    now = now or datetime.now(UTC)
    src, dst = complaint.status, req.to_status
    allowed = allowed_transitions(src)
    if dst not in allowed:
        raise TransitionError(
            "transition",
            src=src,
            dst=dst,
            allowed=", ".join(sorted(allowed)) or message("none"),
        )
    note = clean_text(req.note) or None
    needs_note = (
        dst in (S.REJECTED, S.DUPLICATE)
        or (src in (S.DISPATCHED, S.IN_PROGRESS) and dst == S.DISPATCHED)
        or (src == S.RESOLVED and dst == S.IN_PROGRESS)
    )
    if needs_note and not note:
        raise TransitionError("note_required")
    opd_id = None
    if dst == S.DISPATCHED:
        if req.opd_id is None:
            raise TransitionError("opd_required")
        if session.get(Opd, req.opd_id) is None:
            raise TransitionError("opd_unknown")
        opd_id = req.opd_id
    if dst == S.DUPLICATE:
        if req.duplicate_of_id is None:
            raise TransitionError("duplicate_target")
        target = session.get(Complaint, req.duplicate_of_id)
        if target is None:
            raise TransitionError("duplicate_target")
        # link to the root of a duplicate chain, never to itself
        seen = {complaint.id}
        while target.duplicate_of_id is not None and target.id not in seen:
            seen.add(target.id)
            target = session.get(Complaint, target.duplicate_of_id) or target
        if target.id == complaint.id:
            raise TransitionError("duplicate_self")
        complaint.duplicate_of_id = target.id

    was, will = _counts(src), _counts(dst)
    bump_cells(session, complaint, will[0] - was[0], will[1] - was[1])
    bump_area_days(session, complaint, will[0] - was[0], will[1] - was[1])
    before = opd_contribution(complaint)
    complaint.status = dst
    complaint.updated_at = now
    if dst == S.VERIFIED:
        complaint.verified_at = now
    elif dst == S.DISPATCHED:
        complaint.opd_id = opd_id
        complaint.dispatched_at = now
        complaint.followup_due = calendar.add_working_days(now, FOLLOWUP_WORKING_DAYS)
    elif dst == S.IN_PROGRESS:
        if src == S.RESOLVED:  # reopened: the reporter says it is not done
            complaint.resolved_at = None
            complaint.autoclose_due = None
        complaint.followed_up_at = complaint.followed_up_at or now
    elif dst == S.RESOLVED:
        complaint.followed_up_at = complaint.followed_up_at or now
        complaint.resolved_at = now
        complaint.autoclose_due = calendar.add_working_days(now, AUTOCLOSE_WORKING_DAYS)
    elif dst in (S.CLOSED, S.REJECTED, S.DUPLICATE):
        complaint.closed_at = now
    bump_opd_days(session, before, opd_contribution(complaint))
    event = ComplaintEvent(
        complaint_id=complaint.id,
        ts=now,
        from_status=src,
        to_status=dst,
        actor=req.actor[:100],
        note=note,
        opd_id=opd_id if dst == S.DISPATCHED else complaint.opd_id,
    )
    session.add(event)
    session.flush()
    logger.info("complaint %s: %s -> %s by %s", complaint.tracking_id, src, dst, req.actor)
    return event


def opd_can_see(c: Complaint | None, opd_id: int | None) -> bool:
    """Whether users of OPD ``opd_id`` may see report ``c``: dispatched to that OPD (and not
    re-routed since). No OPD (``None``) sees nothing."""
    return (
        c is not None
        and opd_id is not None
        and c.opd_id == opd_id
        and c.status in OPD_VISIBLE_STATUSES
    )


def check_opd_transition(c: Complaint, req: TransitionRequest, opd_id: int | None) -> None:
    """Refuse what an OPD user may not do: another OPD's report is reported as not found (the
    same answer as an id that does not exist), a move outside :data:`OPD_TRANSITIONS` or one
    without a note is refused with a message."""
    if not opd_can_see(c, opd_id):
        raise ComplaintNotFound()
    allowed = OPD_TRANSITIONS.get(c.status, frozenset())
    if req.to_status not in allowed:
        raise TransitionError(
            "opd_forbidden",
            src=c.status,
            dst=req.to_status,
            allowed=", ".join(sorted(allowed)) or message("none"),
        )
    if not clean_text(req.note):
        raise TransitionError("followup_note_required")


def overdue_kind(c: Complaint, now: datetime | None = None) -> str | None:
    """'dispatch' when not dispatched by its deadline, 'followup' when the OPD is late."""
    now = now or datetime.now(UTC)
    if c.status in (S.NEW, S.VERIFIED) and c.dispatch_due and c.dispatch_due < now:
        return "dispatch"
    if c.status == S.DISPATCHED and c.followup_due and c.followup_due < now:
        return "followup"
    return None


def auto_close(session: Session, now: datetime | None = None, actor: str = "sistem") -> int:
    """Close resolved reports whose 10 working days without reply have passed."""
    now = now or datetime.now(UTC)
    due = session.scalars(
        select(Complaint)
        .where(Complaint.status == S.RESOLVED, Complaint.autoclose_due <= now)
        .limit(5000)
    ).all()
    cal = WorkCalendar()  # not used for closing: no new deadline is computed
    for c in due:
        apply_transition(
            session,
            c,
            TransitionRequest(
                S.CLOSED,
                actor,
                "Ditutup otomatis: tidak ada tanggapan pelapor dalam 10 hari kerja.",
            ),
            cal,
            now,
        )
    return len(due)


# --------------------------------------------------------------------------------------------
# Heatmap rollup: complaints per month, category and grid cell
# --------------------------------------------------------------------------------------------
CELL_DEG = 0.005  # ~550 m at Palembang's latitude
ALL_CATEGORIES = "*"
UNCOUNTED = (S.REJECTED, S.DUPLICATE)


def _insert_for(session: Session, table):
    """INSERT with ON CONFLICT clauses for the session's backend (SQLite or PostgreSQL)."""
    from sqlalchemy.dialects import postgresql, sqlite

    name = session.get_bind().dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"upsert not implemented for {name}")


def cell_of(lat: float, lon: float, cell_deg: float = CELL_DEG) -> tuple[int, int]:
    """Grid cell indexes (cy, cx) = floor((coord + offset) / cell), as the SQL does."""
    return math.floor((lat + 90.0) / cell_deg), math.floor((lon + 180.0) / cell_deg)


def bump_cells(session: Session, c: Complaint, d_total: int, d_open: int) -> None:
    """Add to the report's month/cell counters (its category and ``*``), atomically."""
    if (d_total == 0 and d_open == 0) or c.lat is None or c.lon is None:
        return
    cy, cx = cell_of(c.lat, c.lon)
    created = c.created_at if c.created_at.tzinfo else c.created_at.replace(tzinfo=UTC)
    month = created.astimezone(UTC).date().replace(day=1)
    table = ComplaintCellMonth.__table__
    for category in (c.category, ALL_CATEGORIES):
        stmt = _insert_for(session, table).values(
            month=month, category=category, cy=cy, cx=cx, total=d_total, open=d_open
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["month", "category", "cy", "cx"],
            set_={"total": table.c.total + d_total, "open": table.c.open + d_open},
        )
        session.execute(stmt)


def _counts(status: str) -> tuple[int, int]:
    """(counted in the heatmap, open) for a status."""
    return (0 if status in UNCOUNTED else 1), (1 if status in OPEN_STATUSES else 0)


def rebuild_cell_months(session: Session) -> int:
    """Recompute the whole rollup from the complaints table (after bulk loads, demo seeds)."""
    from sqlalchemy import Integer, case, cast, delete, func, insert, literal

    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        month = func.date(Complaint.created_at, "start of month")
        cy = cast((Complaint.lat + 90.0) / CELL_DEG, Integer)
        cx = cast((Complaint.lon + 180.0) / CELL_DEG, Integer)
    else:
        month = cast(func.date_trunc("month", func.timezone("UTC", Complaint.created_at)), Date)
        cy = cast(func.floor((Complaint.lat + 90.0) / CELL_DEG), Integer)
        cx = cast(func.floor((Complaint.lon + 180.0) / CELL_DEG), Integer)
    is_open = func.sum(case((Complaint.status.in_(OPEN_STATUSES), 1), else_=0))
    base = (
        Complaint.lat.is_not(None),
        Complaint.lon.is_not(None),
        Complaint.status.not_in(UNCOUNTED),
    )
    table = ComplaintCellMonth.__table__
    session.execute(delete(table))
    cols = ["month", "category", "cy", "cx", "total", "open"]
    per_category = (
        select(month, Complaint.category, cy, cx, func.count(), is_open)
        .where(*base)
        .group_by(month, Complaint.category, cy, cx)
    )
    every = (
        select(month, literal(ALL_CATEGORIES), cy, cx, func.count(), is_open)
        .where(*base)
        .group_by(month, cy, cx)
    )
    session.execute(insert(table).from_select(cols, per_category))
    session.execute(insert(table).from_select(cols, every))
    analyze_tables(session, table.name)
    return session.scalar(select(func.count()).select_from(table)) or 0


# --------------------------------------------------------------------------------------------
# Per-kecamatan rollup: reports per UTC day of intake and kecamatan (ComplaintAreaDay)
# --------------------------------------------------------------------------------------------
def bump_area_days(session: Session, c: Complaint, d_total: int, d_open: int) -> None:
    """Add to the report's day/kecamatan counters, atomically (same rule as the heatmap:
    rejected and duplicate reports are not counted)."""
    from store.models import ComplaintAreaDay

    if d_total == 0 and d_open == 0:
        return
    created = c.created_at if c.created_at.tzinfo else c.created_at.replace(tzinfo=UTC)
    table = ComplaintAreaDay.__table__
    stmt = _insert_for(session, table).values(
        day=created.astimezone(UTC).date(), kecamatan=c.kecamatan or "", reports=d_total,
        open=d_open,
    )  # fmt: skip
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "kecamatan"],
        set_={"reports": table.c.reports + d_total, "open": table.c.open + d_open},
    )
    session.execute(stmt)


def rebuild_area_days(session: Session) -> int:
    """Recompute the whole per-kecamatan rollup from the complaints table (after bulk loads,
    demo seeds and areas imports). Returns rows written."""
    from sqlalchemy import case, cast, delete, func, insert

    from store.models import ComplaintAreaDay

    if session.get_bind().dialect.name == "sqlite":
        day = func.date(Complaint.created_at)
    else:
        day = cast(func.timezone("UTC", Complaint.created_at), Date)
    kec = func.coalesce(Complaint.kecamatan, "")
    table = ComplaintAreaDay.__table__
    session.execute(delete(table))
    query = (
        select(
            day,
            kec,
            func.count(),
            func.sum(case((Complaint.status.in_(OPEN_STATUSES), 1), else_=0)),
        )
        .where(Complaint.status.not_in(UNCOUNTED))
        .group_by(day, kec)
    )
    session.execute(insert(table).from_select(["day", "kecamatan", "reports", "open"], query))
    analyze_tables(session, table.name)
    return session.scalar(select(func.count()).select_from(table)) or 0


# --------------------------------------------------------------------------------------------
# Per-OPD rollup: reports per OPD, UTC day of intake and category (ComplaintOpdDay)
# --------------------------------------------------------------------------------------------
US = timedelta(microseconds=1)
OPD_COUNTERS = ("reports", "open", "dispatch_ok", "followup_n", "followup_ok")
OPD_DURATIONS = ("dispatch_us", "resolve_us")


@dataclass(frozen=True)
class OpdContribution:
    """What one report adds to its ``complaint_opd_days`` row: the row key, the counters
    (OPD_COUNTERS order) and its durations in microseconds (None when not reached yet)."""

    day: date
    opd_id: int
    category: str
    counts: tuple[int, int, int, int, int]
    dispatch_us: int | None
    resolve_us: int | None


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _le(a: datetime | None, b: datetime | None) -> int:
    """1 when both are set and a <= b (SQL's ``a <= b`` counted, NULL as false)."""
    return int(a is not None and b is not None and _utc(a) <= _utc(b))


def opd_contribution(c: Complaint) -> OpdContribution | None:
    """The report's share of the per-OPD rollup, from its current state (None: no OPD)."""
    if c.opd_id is None:
        return None
    created = _utc(c.created_at)
    dispatched, resolved = _utc(c.dispatched_at), _utc(c.resolved_at)
    return OpdContribution(
        day=created.date(),
        opd_id=int(c.opd_id),
        category=c.category,
        counts=(
            1,
            int(c.status in OPEN_STATUSES),
            _le(c.dispatched_at, c.dispatch_due),
            int(c.followed_up_at is not None),
            _le(c.followed_up_at, c.followup_due),
        ),
        dispatch_us=(dispatched - created) // US if dispatched is not None else None,
        resolve_us=(resolved - created) // US if resolved is not None else None,
    )


def _pack(values) -> bytes:
    import numpy as np

    return np.sort(np.asarray(values, dtype="<i8")).tobytes()


def _edit_durations(blob: bytes, remove: int | None, add: int | None) -> bytes:
    """The sorted packed durations with one value taken out and/or one put in."""
    import numpy as np

    arr = np.frombuffer(blob or b"", dtype="<i8")
    if remove is not None:
        i = int(np.searchsorted(arr, remove))
        if i < len(arr) and arr[i] == remove:
            arr = np.delete(arr, i)
        else:  # only a rollup built by other means could lack it: say so, keep going
            logger.warning("complaint_opd_days: duration %d not found to remove", remove)
    if add is not None:
        arr = np.insert(arr, int(np.searchsorted(arr, add)), add)
    return arr.astype("<i8").tobytes()


def _bump_opd_day(
    session: Session, key: tuple, sign_counts: list[int], durations: dict[str, tuple]
) -> None:
    """Add counters and edit durations of one rollup row (created if missing), under the
    row's lock (PostgreSQL) or the database write lock (SQLite)."""
    from store.models import ComplaintOpdDay

    table = ComplaintOpdDay.__table__
    day, opd_id, category = key
    ins = _insert_for(session, table).values(
        day=day, opd_id=opd_id, category=category, reports=0, open=0, dispatch_ok=0,
        followup_n=0, followup_ok=0, dispatch_us=b"", resolve_us=b"",
    )  # fmt: skip
    session.execute(ins.on_conflict_do_nothing(index_elements=["category", "day", "opd_id"]))
    where = (table.c.day == day, table.c.opd_id == opd_id, table.c.category == category)
    values: dict[str, Any] = {
        name: table.c[name] + d for name, d in zip(OPD_COUNTERS, sign_counts, strict=True) if d
    }
    if durations:
        row = session.execute(
            select(*(table.c[name] for name in durations)).where(*where).with_for_update()
        ).one()
        for (name, (remove, add)), blob in zip(durations.items(), row, strict=True):
            values[name] = _edit_durations(blob, remove, add)
    if values:
        session.execute(table.update().where(*where).values(**values))


def bump_opd_days(
    session: Session, before: OpdContribution | None, after: OpdContribution | None
) -> None:
    """Move a report's share of the per-OPD rollup from ``before`` to ``after`` (its state
    before and after a change), in the caller's transaction."""
    if before == after:
        return
    rows: dict[tuple, tuple[list[int], dict[str, list]]] = {}
    for sign, contrib in ((-1, before), (1, after)):
        if contrib is None:
            continue
        for category in (contrib.category, ALL_CATEGORIES):  # its own and the ``*`` row
            key = (contrib.day, contrib.opd_id, category)
            counts, durations = rows.setdefault(key, ([0] * len(OPD_COUNTERS), {}))
            for i, v in enumerate(contrib.counts):
                counts[i] += sign * v
            for name in OPD_DURATIONS:
                value = getattr(contrib, name)
                if value is not None:
                    slot = durations.setdefault(name, [None, None])
                    slot[0 if sign < 0 else 1] = value
    for key, (counts, durations) in sorted(rows.items()):  # one lock order: no deadlocks
        durations = {n: tuple(v) for n, v in durations.items() if v[0] != v[1]}
        if any(counts) or durations:
            _bump_opd_day(session, key, counts, durations)


def _rollup_rows(df) -> list[dict[str, Any]]:
    """complaint_opd_days rows from per-report columns (day, opd_id, category, counters,
    durations in microseconds or NaN)."""
    import numpy as np

    keys = ["day", "opd_id", "category"]
    df = df.sort_values(keys, kind="stable").reset_index(drop=True)
    sums = df.groupby(keys, sort=True)[list(OPD_COUNTERS)].sum()
    key_values = df[keys].to_numpy()
    starts = np.flatnonzero(np.r_[True, (key_values[1:] != key_values[:-1]).any(axis=1)])
    bounds = np.r_[starts, len(df)]
    blobs = {}
    for name in OPD_DURATIONS:
        values = df[name].to_numpy()
        blobs[name] = [
            _pack(v[~np.isnan(v)].astype("int64"))
            for v in (values[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True))
        ]
    return [
        {"day": key[0], "opd_id": int(key[1]), "category": key[2],
         **{n: int(x) for n, x in zip(OPD_COUNTERS, counts, strict=True)},
         "dispatch_us": blobs["dispatch_us"][i], "resolve_us": blobs["resolve_us"][i]}
        for i, (key, counts) in enumerate(zip(sums.index, sums.to_numpy(), strict=True))
    ]  # fmt: skip


OPD_SOURCE_COLUMNS = ("opd_id", "category", "status", "created_at", "dispatched_at",
                      "dispatch_due", "followed_up_at", "followup_due", "resolved_at")  # fmt: skip


def opd_report_frame(session: Session, *where, chunk: int = 200_000):
    """Every report with an OPD matching ``where`` as the rollup's per-report columns (the
    vectorised :func:`opd_contribution`: day, opd_id, category, OPD_COUNTERS, OPD_DURATIONS
    in microseconds or NaN). Reads plain driver values: a million reports in seconds."""
    import pandas as pd
    from sqlalchemy import literal_column

    cols = list(OPD_SOURCE_COLUMNS)
    # untyped result columns skip per-value conversion; the WHERE keeps its typed binds.
    # Times come as ISO text (SQLite stores them so; PostgreSQL casts): pandas parses text in
    # bulk, timezone-aware datetime objects one by one (a million rows: minutes)
    as_text = session.get_bind().dialect.name != "sqlite"
    stmt = select(
        *(
            literal_column(f"CAST(complaints.{n} AS TEXT)" if as_text and i >= 3 else
                           f"complaints.{n}")
            for i, n in enumerate(cols)
        )
    ).select_from(Complaint.__table__)  # fmt: skip
    result = session.connection().execute(stmt.where(Complaint.opd_id.is_not(None), *where))
    frames = []
    while batch := result.fetchmany(chunk):
        frames.append(pd.DataFrame.from_records(batch, columns=cols))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    for name in cols[3:]:
        df[name] = pd.to_datetime(df[name], utc=True, format="ISO8601")
    df["day"] = df["created_at"].dt.floor("D").dt.date
    df["reports"] = 1
    df["open"] = df["status"].isin(OPEN_STATUSES).astype(int)
    df["dispatch_ok"] = (df["dispatched_at"] <= df["dispatch_due"]).astype(int)
    df["followup_n"] = df["followed_up_at"].notna().astype(int)
    df["followup_ok"] = (df["followed_up_at"] <= df["followup_due"]).astype(int)
    for name, column in (("dispatch_us", "dispatched_at"), ("resolve_us", "resolved_at")):
        delta = df[column] - df["created_at"]
        df[name] = (delta // US).where(delta.notna()).astype(float)
    return df


def rebuild_opd_days(session: Session) -> int:
    """Recompute the whole per-OPD rollup from the complaints table (after bulk loads and demo
    seeds; ``pantau db rebuild-rollups``). Returns rows written."""
    from sqlalchemy import delete

    from store.models import ComplaintOpdDay

    table = ComplaintOpdDay.__table__
    session.execute(delete(table))
    df = opd_report_frame(session)
    if df.empty:
        return 0
    rows = _rollup_rows(df) + _rollup_rows(df.assign(category=ALL_CATEGORIES))
    for start in range(0, len(rows), 5000):
        session.execute(table.insert(), rows[start : start + 5000])
    analyze_tables(session, table.name)
    return len(rows)


# --------------------------------------------------------------------------------------------
# Duplicate hints
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DuplicateHint:
    id: int
    tracking_id: str
    status: str
    created_at: datetime
    distance_m: float
    description: str


def find_duplicates(
    session: Session,
    *,
    category: str,
    lat: float | None,
    lon: float | None,
    created_at: datetime,
    radius_m: float = 150.0,
    days: int = 14,
    exclude_id: int | None = None,
    limit: int = 10,
) -> list[DuplicateHint]:
    """Reports of the same category within ``radius_m`` and ``days`` before/after, nearest first."""
    if lat is None or lon is None:
        return []
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(0.1, math.cos(math.radians(lat))))
    q = select(
        Complaint.id,
        Complaint.tracking_id,
        Complaint.status,
        Complaint.created_at,
        Complaint.lat,
        Complaint.lon,
        Complaint.description,
    ).where(
        Complaint.category == category,
        Complaint.created_at >= created_at - timedelta(days=days),
        Complaint.created_at <= created_at + timedelta(days=1),
        Complaint.lat.between(lat - dlat, lat + dlat),
        Complaint.lon.between(lon - dlon, lon + dlon),
        Complaint.status.not_in([S.REJECTED, S.DUPLICATE]),
    )
    if exclude_id is not None:
        q = q.where(Complaint.id != exclude_id)
    hints = []
    for row in session.execute(q.limit(500)):
        d = haversine_m(lat, lon, row.lat, row.lon)
        if d <= radius_m:
            hints.append(
                DuplicateHint(
                    row.id, row.tracking_id, row.status, row.created_at, d, row.description
                )
            )
    hints.sort(key=lambda h: (h.distance_m, h.created_at))
    return hints[:limit]


# --------------------------------------------------------------------------------------------
# The service: one transaction per report, photo included
# --------------------------------------------------------------------------------------------
@dataclass
class SubmitResult:
    complaint: Complaint
    created: bool  # False: a redelivery of a report we already have (same external_id)
    duplicates: list[DuplicateHint] = field(default_factory=list)


#: ``ComplaintService.transition(as_opd=...)`` default: the command center acts (no OPD scope).
COMMAND_CENTER = object()


class ComplaintService:
    """Creates reports and changes their status against one database."""

    def __init__(self, database, settings, calendar: WorkCalendar | None = None) -> None:
        self.db = database
        self.settings = settings
        self.calendar = calendar or WorkCalendar.from_settings(settings)

    # -- intake ----------------------------------------------------------------------------
    def validate(self, data: NewComplaint) -> CleanComplaint:
        return validate(data, center=(self.settings.map_center_lat, self.settings.map_center_lon))

    def submit(
        self,
        data: NewComplaint,
        *,
        actor: str = "warga",
        now: datetime | None = None,
        session: Session | None = None,
        on_created=None,
    ) -> SubmitResult:
        """Validate, store the photo and the report with its first event, all or nothing.

        ``on_created(session, complaint)`` runs inside the same transaction (the SMS intake
        links its inbox row there). Redelivered ``external_id``s return the existing report.
        """
        now = now or datetime.now(UTC)
        clean = self.validate(data)
        photo_file: Path | None = None
        photo_name = None
        if data.photo:
            encoded, ext = sanitize_photo(
                data.photo, self.settings.upload_max_bytes, self.settings.upload_max_pixels
            )
            photo_dir = self.settings.upload_dir / "complaints"
            photo_dir.mkdir(parents=True, exist_ok=True)
            photo_name = f"complaints/{secrets.token_hex(16)}{ext}"
            photo_file = self.settings.upload_dir / photo_name
            photo_file.write_bytes(encoded)
        try:
            if session is not None:
                result = self._insert(session, clean, actor, now, photo_name, on_created)
            else:
                with self.db.session() as s:
                    result = self._insert(s, clean, actor, now, photo_name, on_created)
        except IntegrityError:
            if photo_file is not None:
                photo_file.unlink(missing_ok=True)
            if clean.external_id:
                with self.db.session() as s:
                    existing = s.scalar(
                        select(Complaint).where(Complaint.external_id == clean.external_id)
                    )
                if existing is not None:
                    return SubmitResult(existing, created=False)
            raise
        except BaseException:
            if photo_file is not None:
                photo_file.unlink(missing_ok=True)
            raise
        return result

    def _insert(self, s: Session, clean: CleanComplaint, actor, now, photo_name, on_created):
        if clean.external_id:
            existing = s.scalar(select(Complaint).where(Complaint.external_id == clean.external_id))
            if existing is not None:
                return SubmitResult(existing, created=False)
        complaint = Complaint(
            tracking_id=new_tracking_id(now),
            category=clean.category,
            title=clean.title,
            description=clean.description,
            lat=clean.lat,
            lon=clean.lon,
            address=clean.address,
            kecamatan=clean.kecamatan,
            privacy=clean.privacy,
            reporter_name=clean.reporter_name,
            reporter_contact=clean.reporter_contact,
            channel=clean.channel,
            external_id=clean.external_id,
            status=S.NEW,
            photo_path=photo_name,
            created_at=now,
            updated_at=now,
            dispatch_due=self.calendar.add_working_days(now, DISPATCH_WORKING_DAYS),
        )
        s.add(complaint)
        s.flush()
        bump_cells(s, complaint, 1, 1)
        bump_area_days(s, complaint, 1, 1)  # kecamatan located on flush (store.areas)
        s.add(
            ComplaintEvent(
                complaint_id=complaint.id,
                ts=now,
                from_status=None,
                to_status=S.NEW,
                actor=actor[:100],
                note=f"channel={clean.channel}",
            )
        )
        if complaint.lat is not None and complaint.lon is not None:
            from store.complaint_cameras import attach_nearby_snapshots

            attach_nearby_snapshots(s, complaint, self.settings, now)  # staff-only evidence
        if on_created is not None:
            on_created(s, complaint)
        s.flush()
        _surge_rules(s, complaint)
        return SubmitResult(complaint, created=True)

    def duplicates_for(self, session: Session, complaint: Complaint) -> list[DuplicateHint]:
        return find_duplicates(
            session,
            category=complaint.category,
            lat=complaint.lat,
            lon=complaint.lon,
            created_at=complaint.created_at,
            radius_m=self.settings.complaint_duplicate_radius_m,
            days=self.settings.complaint_duplicate_days,
            exclude_id=complaint.id,
        )

    # -- workflow --------------------------------------------------------------------------
    def transition(
        self,
        complaint_id: int,
        to_status: str,
        *,
        actor: str,
        note: str | None = None,
        opd_id: int | None = None,
        duplicate_of_id: int | None = None,
        now: datetime | None = None,
        as_opd: int | None | object = COMMAND_CENTER,
    ) -> Complaint:
        """Change one report's status. ``as_opd``: the acting user is staff of that OPD (role
        ``opd``; ``None`` for an account without a valid OPD, which may do nothing), checked
        with :func:`check_opd_transition` under the same row lock."""
        with self.db.session() as s:
            c = s.get(Complaint, complaint_id, with_for_update=True)
            if c is None:
                raise ComplaintNotFound()
            req = TransitionRequest(to_status, actor, note, opd_id, duplicate_of_id)
            if as_opd is not COMMAND_CENTER:
                check_opd_transition(c, req, as_opd if type(as_opd) is int else None)
            apply_transition(s, c, req, self.calendar, now)
            return c

    def dispatch_many(
        self,
        complaint_ids: list[int],
        opd_id: int,
        *,
        actor: str,
        note: str | None = None,
        now: datetime | None = None,
    ) -> tuple[list[int], dict[int, ComplaintError]]:
        """Send several reports to one OPD (verifying new ones first); each on its own."""
        done: list[int] = []
        failed: dict[int, ComplaintError] = {}
        for cid in complaint_ids:
            try:
                with self.db.session() as s:
                    c = s.get(Complaint, cid, with_for_update=True)
                    if c is None:
                        raise ComplaintNotFound()
                    if c.status == S.NEW:
                        apply_transition(
                            s, c, TransitionRequest(S.VERIFIED, actor, note), self.calendar, now
                        )
                    apply_transition(
                        s,
                        c,
                        TransitionRequest(S.DISPATCHED, actor, note, opd_id),
                        self.calendar,
                        now,
                    )
                done.append(cid)
            except ComplaintError as exc:
                failed[cid] = exc
        return done, failed

    def auto_close(self, now: datetime | None = None) -> int:
        with self.db.session() as s:
            return auto_close(s, now)


def _surge_rules(session: Session, complaint: Complaint) -> None:
    """The complaint-surge alert rules (``store.rules.surge``) in the intake's transaction; a
    failing rule is logged and never loses the report."""
    from store.rules.surge import evaluate_complaint

    try:
        with session.begin_nested():
            evaluate_complaint(session, complaint)
    except Exception:
        logger.exception("complaint surge rules failed for %s", complaint.tracking_id)


def find_by_tracking_id(session: Session, raw: str | None) -> Complaint | None:
    tid = normalise_tracking_id(raw)
    if tid is None:
        return None
    return session.scalar(select(Complaint).where(Complaint.tracking_id == tid))


def public_history(session: Session, complaint: Complaint) -> list[dict[str, Any]]:
    """Status changes a citizen may see: when and what, never who (actors stay internal)."""
    events = session.scalars(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint.id)
        .order_by(ComplaintEvent.ts, ComplaintEvent.id)
    ).all()
    shown = []
    for e in events:
        note = e.note if e.to_status in (S.RESOLVED, S.REJECTED, S.CLOSED, S.IN_PROGRESS) else None
        shown.append({"ts": e.ts, "status": e.to_status, "note": note})
    return shown


def search_filter(text: str):
    """A WHERE clause for free-text search on tracking id, description and address."""
    like = f"%{text.strip()}%"
    return or_(
        Complaint.tracking_id.ilike(like),
        Complaint.description.ilike(like),
        Complaint.address.ilike(like),
    )
