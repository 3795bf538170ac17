"""The audit log in words: one sentence per entry in the reader's language, and its details as
labelled fields (what changed, from what to what) instead of raw JSON.

Each action has a sentence key ``audit.s.<action>`` (variants ``...<variant>`` where the detail
says more, e.g. why a sign-in failed). Unknown actions and detail keys still show, as
``key: value`` pairs, so nothing recorded is hidden.
"""

from __future__ import annotations

from typing import Any

from dashboard.i18n import register, t

register(
    {
        "audit.s.login": {"id": "{user} masuk.", "en": "{user} signed in."},
        "audit.s.login_failed.password": {
            "id": "Gagal masuk sebagai {target}: kata sandi salah.",
            "en": "Sign-in as {target} failed: wrong password.",
        },
        "audit.s.login_failed.password_locked": {
            "id": "Gagal masuk sebagai {target}: kata sandi salah, akun dikunci sementara.",
            "en": "Sign-in as {target} failed: wrong password; the account is now locked for a "
            "while.",
        },
        "audit.s.login_failed.unknown": {
            "id": "Gagal masuk sebagai {target}: nama pengguna tidak dikenal.",
            "en": "Sign-in as {target} failed: no such user.",
        },
        "audit.s.login_failed.inactive": {
            "id": "Gagal masuk sebagai {target}: akun nonaktif.",
            "en": "Sign-in as {target} failed: the account is deactivated.",
        },
        "audit.s.login_failed": {
            "id": "Gagal masuk sebagai {target}.",
            "en": "Sign-in as {target} failed.",
        },
        "audit.s.login_locked.ip": {
            "id": "Percobaan masuk ditolak: terlalu banyak percobaan dari alamat ini.",
            "en": "Sign-in refused: too many attempts from this address.",
        },
        "audit.s.login_locked": {
            "id": "Percobaan masuk sebagai {target} ditolak: akun sedang terkunci.",
            "en": "Sign-in as {target} refused: the account is locked.",
        },
        "audit.s.logout": {"id": "{user} keluar.", "en": "{user} signed out."},
        "audit.s.export": {"id": "{user} mengunduh {what}.", "en": "{user} downloaded {what}."},
        "audit.s.view_camera": {
            "id": "{user} melihat kamera non-publik {target} ({via}).",
            "en": "{user} viewed the non-public camera {target} ({via}).",
        },
        "audit.via.page": {"id": "halaman kamera", "en": "camera page"},
        "audit.via.snapshot": {"id": "gambar terbaru", "en": "latest picture"},
        "audit.via.stream": {"id": "siaran langsung", "en": "live stream"},
        "audit.s.user_create": {
            "id": "{user} membuat akun {target} dengan peran {role}.",
            "en": "{user} created the account {target} with the role {role}.",
        },
        "audit.s.user_role": {
            "id": "{user} mengubah peran {target} dari {old} menjadi {new}.",
            "en": "{user} changed {target}'s role from {old} to {new}.",
        },
        "audit.s.user_password": {
            "id": "{user} mengatur ulang kata sandi {target}.",
            "en": "{user} reset {target}'s password.",
        },
        "audit.s.user_active.on": {
            "id": "{user} mengaktifkan akun {target}.",
            "en": "{user} activated the account {target}.",
        },
        "audit.s.user_active.off": {
            "id": "{user} menonaktifkan akun {target}.",
            "en": "{user} deactivated the account {target}.",
        },
        "audit.s.user_unlock": {
            "id": "{user} membuka kunci akun {target}.",
            "en": "{user} unlocked the account {target}.",
        },
        "audit.s.access_denied.page": {
            "id": "{user} ditolak membuka halaman {target}.",
            "en": "{user} was refused the page {target}.",
        },
        "audit.s.access_denied.callback": {
            "id": "{user} ditolak menjalankan aksi di halaman (komponen {output}).",
            "en": "{user} was refused an action on a page (component {output}).",
        },
        "audit.s.access_denied": {
            "id": "{user} ditolak mengakses {target}.",
            "en": "{user} was refused access to {target}.",
        },
        "audit.s.camera_create": {
            "id": "{user} menambah kamera {target}.",
            "en": "{user} added the camera {target}.",
        },
        "audit.s.camera_update": {
            "id": "{user} mengubah kamera {target}.",
            "en": "{user} changed the camera {target}.",
        },
        "audit.s.camera_enable": {
            "id": "{user} mengaktifkan kamera {target}.",
            "en": "{user} enabled the camera {target}.",
        },
        "audit.s.camera_disable": {
            "id": "{user} menonaktifkan kamera {target}.",
            "en": "{user} disabled the camera {target}.",
        },
        "audit.s.camera_import": {
            "id": "{user} mengunggah registri kamera {target}: {new} baru, {changed} berubah, "
            "{unchanged} tetap.",
            "en": "{user} uploaded the camera registry {target}: {new} new, {changed} changed, "
            "{unchanged} unchanged.",
        },
        "audit.s.api_key_create": {
            "id": "{user} membuat kunci API {target}.",
            "en": "{user} created the API key {target}.",
        },
        "audit.s.api_key_revoke": {
            "id": "{user} mencabut kunci API {target}.",
            "en": "{user} revoked the API key {target}.",
        },
        "audit.s.incident_write": {
            "id": "{user} mengirim kejadian dari {target} lewat {channel}: {inserted} baru, "
            "{updated} diperbarui.",
            "en": "{user} sent incidents from {target} by {channel}: {inserted} new, "
            "{updated} updated.",
        },
        "audit.s.other": {"id": "{user}: {action} {target}.", "en": "{user}: {action} {target}."},
        "audit.someone": {"id": "Seseorang", "en": "Someone"},
        "audit.file": {"id": "berkas", "en": "a file"},
        # detail field labels
        "audit.f.ip": {"id": "Alamat IP", "en": "IP address"},
        "audit.f.filename": {"id": "Nama berkas", "en": "File name"},
        "audit.f.file": {"id": "Berkas", "en": "File"},
        "audit.f.role": {"id": "Peran", "en": "Role"},
        "audit.f.opd": {"id": "OPD", "en": "Agency (OPD)"},
        "audit.f.opd_id": {"id": "OPD (nomor)", "en": "Agency (OPD) number"},
        "audit.f.opd_from": {"id": "OPD sebelumnya (nomor)", "en": "Agency before (number)"},
        "audit.f.opd_to": {"id": "OPD baru (nomor)", "en": "Agency now (number)"},
        "audit.f.prefix": {"id": "Awalan kunci", "en": "Key prefix"},
        "audit.f.scopes": {"id": "Cakupan", "en": "Scopes"},
        "audit.f.channel": {"id": "Jalur", "en": "Channel"},
        "audit.f.inserted_ids": {"id": "Nomor kejadian baru", "en": "New incident ids"},
        "audit.f.updated_ids": {"id": "Kejadian diperbarui", "en": "Incidents updated"},
        "audit.f.disposition": {"id": "Unduhan", "en": "Download"},
        "audit.f.output": {"id": "Komponen", "en": "Component"},
        "audit.f.ids": {"id": "Komponen", "en": "Components"},
        "audit.f.reason": {"id": "Alasan", "en": "Reason"},
        "audit.f.changes": {"id": "Perubahan", "en": "Changes"},
        "audit.empty_value": {"id": "(kosong)", "en": "(empty)"},
        "audit.yes": {"id": "ya", "en": "yes"},
        "audit.no": {"id": "tidak", "en": "no"},
        # camera fields (store/cameras.py diffs)
        "audit.cf.name": {"id": "Nama", "en": "Name"},
        "audit.cf.stream_url": {"id": "Alamat siaran", "en": "Stream URL"},
        "audit.cf.is_public": {"id": "Publik", "en": "Public"},
        "audit.cf.kecamatan": {"id": "Kecamatan", "en": "Kecamatan (district)"},
        "audit.cf.address": {"id": "Alamat", "en": "Address"},
        "audit.cf.lat": {"id": "Lintang", "en": "Latitude"},
        "audit.cf.lon": {"id": "Bujur", "en": "Longitude"},
        "audit.cf.owner": {"id": "Pemilik", "en": "Owner"},
        "audit.cf.protocol": {"id": "Protokol", "en": "Protocol"},
        "audit.cf.tags": {"id": "Fungsi", "en": "Functions"},
        "audit.cf.rois": {"id": "Area analisis", "en": "Analysis areas"},
        "audit.cf.lines": {"id": "Garis hitung", "en": "Counting lines"},
        "audit.cf.interval_s": {"id": "Interval sampel (detik)", "en": "Sample interval (s)"},
        "audit.cf.enabled": {"id": "Aktif", "en": "Enabled"},
        "audit.cf.code": {"id": "Kode", "en": "Code"},
    }
)

ROLE_KEY = "auth.role.{}"


def _role(code: Any) -> str:
    key = ROLE_KEY.format(code)
    text = t(key)
    return str(code) if text == key else text


def _plain(value: Any) -> str:
    if value is None or value == "":
        return t("audit.empty_value")
    if isinstance(value, bool):
        return t("audit.yes") if value else t("audit.no")
    if isinstance(value, dict):
        text = "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    elif isinstance(value, list | tuple):
        # ["a", "b"] -> a, b; [["INC-1", ["status"]]] -> INC-1 (status)
        text = ", ".join(
            f"{_plain(v[0])} ({_plain(v[1])})" if isinstance(v, list | tuple) and len(v) == 2
            else _plain(v)
            for v in value[:50]
        ) + (" …" if len(value) > 50 else "")  # fmt: skip
    else:
        text = str(value)
    return text if len(text) <= 160 else text[:157] + "…"


def _label(prefix: str, key: str) -> str:
    k = f"{prefix}.{key}"
    text = t(k)
    return key if text == k else text


def sentence(action: str, username: str | None, target: str | None, detail: dict | None) -> str:
    """One sentence for an entry, in the reader's language."""
    d = detail if isinstance(detail, dict) else {}
    user = username or t("audit.someone")
    tgt = target or "—"
    key = f"audit.s.{action}"
    fmt: dict[str, Any] = {"user": user, "target": tgt}
    if action == "login_failed":
        reason = d.get("reason")
        if reason == "password":
            key += ".password_locked" if d.get("locked") else ".password"
        elif reason in ("unknown", "inactive"):
            key += f".{reason}"
    elif action == "login_locked" and d.get("reason") == "ip":
        key += ".ip"
    elif action == "export":
        fmt["what"] = d.get("filename") or target or t("audit.file")
    elif action == "view_camera":
        via = str(d.get("via") or "page")
        fmt["via"] = _label("audit.via", via)
    elif action == "user_create":
        fmt["role"] = _role(d.get("role"))
    elif action == "user_role":
        fmt.update(old=_role(d.get("from")), new=_role(d.get("to")))
    elif action == "user_active":
        key += ".on" if d.get("active") else ".off"
    elif action == "access_denied":
        if d.get("kind") == "page":
            key += ".page"
        elif target == "callback":
            key += ".callback"
            fmt["output"] = str(d.get("output") or "—")[:80]
    elif action == "camera_import":
        fmt.update(
            new=d.get("new", 0), changed=d.get("changed", 0), unchanged=d.get("unchanged", 0)
        )
    elif action == "incident_write":
        tgt = tgt.removeprefix("incidents:")
        fmt.update(
            target=tgt,
            channel=str(d.get("channel") or "—"),
            inserted=d.get("inserted", 0),
            updated=d.get("updated", 0),
        )
    text = t(key, **fmt)
    if text == key:  # an action this module has no sentence for
        return t("audit.s.other", user=user, action=action, target=tgt if target else "").strip()
    return text


#: Detail keys the sentence already says (not repeated as fields).
_IN_SENTENCE = {
    "summary", "reason", "locked", "via", "kind", "role", "from", "to", "active", "new",
    "changed", "unchanged", "inserted", "updated", "channel",
}  # fmt: skip


def fields(action: str, detail: dict | None) -> list[tuple[str, str]]:
    """(label, value) pairs of the details the sentence does not say."""
    if not isinstance(detail, dict):
        return [] if detail in (None, "") else [("", _plain(detail))]
    out: list[tuple[str, str]] = []
    changes = detail.get("changes")
    if isinstance(changes, dict):
        for name, change in changes.items():
            if isinstance(change, dict) and ("old" in change or "new" in change):
                old, new = _plain(change.get("old")), _plain(change.get("new"))
                value = new if action == "camera_create" else f"{old} → {new}"
                out.append((_label("audit.cf", str(name)), value))
            else:
                out.append((_label("audit.cf", str(name)), _plain(change)))
    for k, v in detail.items():
        if k in _IN_SENTENCE or k == "changes" or v is None or v == []:
            continue
        if k == "output" and action == "access_denied":
            continue
        out.append((_label("audit.f", str(k)), _plain(v)))
    return out
