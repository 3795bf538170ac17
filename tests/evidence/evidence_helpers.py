"""Helpers shared by the evidence tests (this folder is on sys.path via its conftest)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from ingestion.evidence_recorder import claim, record_item
from store.evidence import create_item
from store.models import Camera


def add_camera(db, code: str, url: str, protocol: str, **kw) -> int:  # noqa: ANN001
    with db.session() as s:
        cam = Camera(code=code, name=kw.pop("name", f"Kamera {code}"), lat=-2.99, lon=104.76,
                     kecamatan=kw.pop("kecamatan", "Ilir Barat I"), stream_url=url,
                     protocol=protocol, **kw)  # fmt: skip
        s.add(cam)
        s.flush()
        return cam.id


def queue(db, settings, code: str, seconds: int, **kw) -> int:  # noqa: ANN001
    from sqlalchemy import select

    with db.session() as s:
        cam = s.scalar(select(Camera).where(Camera.code == code))
        item = create_item(s, cam, seconds, trigger=kw.pop("trigger", "cli"),
                           started_by=kw.pop("started_by", "cli:test"), settings=settings, **kw)  # fmt: skip
        return item.id


def record(db, settings, code: str, seconds: int, **kw):  # noqa: ANN001, ANN201
    item_id = queue(db, settings, code, seconds)
    assert claim(db, settings, item_id)
    return record_item(db, settings, item_id, **kw)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ffprobe(path: Path) -> dict:
    import json

    out = subprocess.run(
        ["/usr/bin/ffprobe", "-v", "error", "-show_entries",
         "stream=codec_name,width,height:format=duration,format_name", "-of", "json", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    data = json.loads(out)
    st = data["streams"][0]
    return {"codec": st["codec_name"], "width": st["width"], "height": st["height"],
            "duration": float(data["format"]["duration"]), "format": data["format"]["format_name"]}  # fmt: skip


def frame_hashes(path: Path) -> list[str]:
    """MD5 of every decoded video frame. A clip copied from a camera decodes to exactly the
    camera's frames; any re-encode (lossy) changes them."""
    out = subprocess.run(
        ["/usr/bin/ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:v:0",
         "-f", "framemd5", "-"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    return [
        line.rsplit(",", 1)[1].strip()
        for line in out.splitlines()
        if line.strip() and not line.startswith("#")
    ]
