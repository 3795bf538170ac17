"""SMS gateway intake: parse, deduplicate, and either create a report or queue it for triage.

Gateways redeliver (timeouts, retries), so every SMS is keyed by the gateway's message id:
the inbox row (``sms_messages.external_id``) and the complaint (``complaints.external_id =
'sms:<id>'``) are unique, and both are written in one transaction, so a redelivery - even a
concurrent one - never creates a second report.

Two forms are accepted:

* the keyword format ``LAPOR#KATEGORI#LOKASI#ISI`` (e.g. ``LAPOR#JALAN#Jl. Sudirman depan
  BCA#Lubang besar di lajur kiri``) becomes a report directly;
* anything else lands in the triage queue, where an operator picks category and location.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.complaints import (
    CATEGORIES,
    ComplaintService,
    NewComplaint,
    ValidationError,
    clean_text,
    normalise_phone,
)
from store.models import ComplaintChannel, SmsMessage, SmsStatus

logger = logging.getLogger(__name__)

#: Words people text for each category (upper case, no accents), besides the category codes.
KEYWORDS: dict[str, str] = {
    "JALAN": "road_damage",
    "JALANRUSAK": "road_damage",
    "LUBANG": "road_damage",
    "DRAINASE": "drainage",
    "GOT": "drainage",
    "SELOKAN": "drainage",
    "BANJIR": "flood",
    "GENANGAN": "flood",
    "SAMPAH": "waste",
    "BUANGSAMPAH": "illegal_dumping",
    "MACET": "traffic",
    "LALULINTAS": "traffic",
    "LAMPU": "traffic_light",
    "LAMPUMERAH": "traffic_light",
    "PARKIR": "illegal_parking",
    "PKL": "street_vendors",
    "ANJAL": "street_children",
    "ANAKJALANAN": "street_children",
    "KETERTIBAN": "public_order",
    "BISING": "public_order",
    "KRIMINAL": "crime",
    "BEGAL": "crime",
    "JAMBRET": "crime",
    "BALAPLIAR": "illegal_racing",
    "KEBAKARAN": "fire",
    "API": "fire",
    "KESEHATAN": "health",
    "DBD": "health",
    "PASAR": "market",
    "IZIN": "permits",
    "PAJAK": "tax",
    "BENCANA": "disaster",
    "LAIN": "other",
    "LAINNYA": "other",
}

_KEYWORD_FORMAT = re.compile(r"^\s*LAPOR\s*#", re.IGNORECASE)
MAX_SMS_CHARS = 1600  # ten concatenated SMS


@dataclass(frozen=True)
class ParsedSms:
    category: str
    location: str
    body: str


def _key(word: str) -> str:
    text = unicodedata.normalize("NFKD", word)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^A-Z_]", "", text.upper())


def category_for(word: str) -> str | None:
    key = _key(word)
    if not key:
        return None
    if key.lower() in CATEGORIES:
        return key.lower()
    return KEYWORDS.get(key.replace("_", ""))


def parse_sms(text: str) -> ParsedSms | None:
    """``LAPOR#KATEGORI#LOKASI#ISI`` -> ParsedSms; None for free text or an unknown category."""
    if not _KEYWORD_FORMAT.match(text or ""):
        return None
    parts = [p.strip() for p in text.split("#", 3)]
    if len(parts) != 4 or not all(parts[1:]):
        return None
    category = category_for(parts[1])
    if category is None:
        return None
    return ParsedSms(category=category, location=parts[2], body=parts[3])


@dataclass
class SmsResult:
    status: str  # "created", "triage", "duplicate"
    sms_id: int
    tracking_id: str | None = None


class SmsIntake:
    """Turns gateway deliveries into inbox rows and reports, exactly once per message id."""

    def __init__(self, service: ComplaintService) -> None:
        self.service = service
        self.db = service.db

    def receive(
        self,
        *,
        message_id: str,
        sender: str,
        text: str,
        received_at: datetime | None = None,
    ) -> SmsResult:
        message_id = clean_text(message_id)[:128]
        if not message_id:
            raise ValueError("message id is required")
        sender = normalise_phone(clean_text(sender))[:32]
        if not sender:
            raise ValueError("sender is required")
        text = clean_text(text)[:MAX_SMS_CHARS]
        if not text:
            raise ValueError("text is required")
        received_at = received_at or datetime.now(UTC)
        existing = self._existing(message_id)
        if existing is not None:
            return existing
        try:
            return self._store(message_id, sender, text, received_at)
        except IntegrityError:  # a concurrent redelivery won the race
            again = self._existing(message_id)
            if again is None:
                raise
            return again

    def _existing(self, message_id: str) -> SmsResult | None:
        with self.db.session() as s:
            row = s.scalar(select(SmsMessage).where(SmsMessage.external_id == message_id))
            if row is None:
                return None
            tracking = None
            if row.complaint_id is not None:
                from store.models import Complaint

                c = s.get(Complaint, row.complaint_id)
                tracking = c.tracking_id if c else None
            return SmsResult("duplicate", row.id, tracking)

    def _store(self, message_id: str, sender: str, text: str, received_at: datetime) -> SmsResult:
        parsed = parse_sms(text)
        with self.db.session() as s:
            sms = SmsMessage(
                external_id=message_id,
                sender=sender,
                text=text,
                received_at=received_at,
                status=SmsStatus.TRIAGE,
            )
            s.add(sms)
            s.flush()  # the unique message id is claimed here, inside the transaction
            if parsed is not None:
                try:
                    result = self.service.submit(
                        NewComplaint(
                            category=parsed.category,
                            description=parsed.body,
                            address=parsed.location,
                            reporter_contact=sender,
                            channel=ComplaintChannel.SMS,
                            external_id=f"sms:{message_id}",
                        ),
                        actor="sms-gateway",
                        now=received_at,
                        session=s,
                    )
                except ValidationError as exc:
                    sms.note = "; ".join(exc.messages("id").values())
                    return SmsResult("triage", sms.id)
                sms.status = SmsStatus.CONVERTED
                sms.complaint_id = result.complaint.id
                sms.handled_by = "sms-gateway"
                sms.handled_at = received_at
                return SmsResult("created", sms.id, result.complaint.tracking_id)
            return SmsResult("triage", sms.id)

    # -- triage by an operator ---------------------------------------------------------------
    def convert(
        self,
        sms_id: int,
        *,
        category: str,
        actor: str,
        address: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        description: str | None = None,
    ) -> str:
        """Structure a triage SMS into a report; returns its tracking id."""
        with self.db.session() as s:
            sms = s.get(SmsMessage, sms_id, with_for_update=True)
            if sms is None or sms.status != SmsStatus.TRIAGE:
                raise ValueError("SMS tidak ada di antrean triase / SMS is not awaiting triage")
            result = self.service.submit(
                NewComplaint(
                    category=category,
                    description=description or sms.text,
                    address=address,
                    lat=lat,
                    lon=lon,
                    reporter_contact=sms.sender,
                    channel=ComplaintChannel.SMS,
                    external_id=f"sms:{sms.external_id}",
                ),
                actor=actor,
                now=sms.received_at,
                session=s,
            )
            sms.status = SmsStatus.CONVERTED
            sms.complaint_id = result.complaint.id
            sms.handled_by = actor
            sms.handled_at = datetime.now(UTC)
            return result.complaint.tracking_id

    def discard(self, sms_id: int, *, actor: str, note: str | None = None) -> None:
        with self.db.session() as s:
            sms = s.get(SmsMessage, sms_id)
            if sms is None or sms.status != SmsStatus.TRIAGE:
                raise ValueError("SMS tidak ada di antrean triase / SMS is not awaiting triage")
            sms.status = SmsStatus.DISCARDED
            sms.handled_by = actor
            sms.handled_at = datetime.now(UTC)
            sms.note = clean_text(note) or None


def triage_queue(session: Session, limit: int = 100) -> list[SmsMessage]:
    return list(
        session.scalars(
            select(SmsMessage)
            .where(SmsMessage.status == SmsStatus.TRIAGE)
            .order_by(SmsMessage.received_at)
            .limit(limit)
        )
    )
