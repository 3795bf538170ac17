"""Every page in English and in Bahasa Indonesia, as every role sees it, in headless Chromium:
no word of the other language in the interface (visible text, placeholders, tooltips, chart
text, the page title) nor in alert texts.

How it reads a page: the visible text nodes, the ``placeholder``/``title``/``aria-label`` of
visible elements and the text of the Plotly charts. Text that is *data* is not interface and is
left out: what citizens, agencies and staff typed or loaded (complaint and incident texts and
addresses, SMS, indicator names, SOP steps, names of cameras, places, agencies, sensors and
people). Data is recognised by its value, read from the database, never by where the page puts
it; alert titles are *not* data (the interface renders them from the alert's kind and values).

The word lists are the common interface words of each language that the other language does
not use; the allow-list is the proper nouns and terms both languages use (Pantau, WIB, OPD,
kecamatan, siaga...).
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict

import pytest
from sqlalchemy import select

from tests.conftest import require_service
from tests.ui.harness import browser_available, chrome_driver, dash_idle, login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: Indonesian interface words that have no place in the English interface.
ID_WORDS = set(
    """
    dan atau yang untuk dengan tidak belum sudah dari pada oleh ini itu semua baru hari jam
    menit minggu bulan tahun kemarin biasanya orang kendaraan kamera laporan pengaduan kejadian
    peringatan genangan banjir kerumunan terbuka selesai ditolak masuk keluar cari simpan batal
    pilih tampilkan unduh periode tanggal awal akhir sebelumnya berikutnya terakhir sejak rata
    lalu lintas keamanan ringkasan rincian riwayat pengguna peran kata sandi alamat nama
    terlambat tenggat menunggu dikerjakan diteruskan petugas halaman akses ada lihat kembali ke
    di sedang tindak lanjut jenis ukuran perubahan dibanding tingkat aktif publik fungsi jalan
    trotoar dekat jauh tengah garis hitung kiri kanan berita cetak sebelum sesudah kali
    diperbarui memuat gagal berhasil wajib isi pesan kirim tutup buka tambah ubah hapus
    """.split()  # noqa: SIM905 - a word list reads better as text
)
#: English interface words that have no place in the Indonesian interface.
EN_WORDS = set(
    """
    the and of to for with from by is are was not all new open closed show hide search select
    start end date time day days week month year today yesterday usual people vehicles vehicle
    camera cameras traffic flood flooding crowd crowds alert alerts report reports complaint
    complaints incident incidents level since until back next previous page sign login logout
    user users role password name address download export loading error warning critical updated
    last hours minutes seconds average mean count change none yes details history map legend
    zoom reset pavement road line far near centre center watches print briefing oct aug dec
    """.split()  # noqa: SIM905 - a word list reads better as text
)
#: Proper nouns and shared terms (both languages use them as they are).
ALLOW = set(
    """
    pantau palembang wib wita wit opd lapor e-lapor sp4n cctv kecamatan kelurahan siaga waspada
    kota api csv xlsx json pdf id en ok sms url ip pimpinan operator analis admin status total
    data demo info online offline roi kpi p90 leaflet openstreetmap plotly sop command center
    """.split()  # noqa: SIM905 - a word list reads better as text
)

WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)
#: Code names (settings, rule kinds: PANTAU_NOTIFY_EMAIL_TO, flood_coverage) are no language.
IDENTIFIER = re.compile(r"\b\w*_\w*\b")
#: Where one text node joins several values (a data value next to its label, editor lines).
SEPARATORS = re.compile(r" \| | · | — |\n")

COLLECT_JS = r"""
const out = [];
const visible = el => {
  if (!el || !(el instanceof Element)) return true;
  const s = getComputedStyle(el);
  return s.display !== 'none' && s.visibility !== 'hidden';
};
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
let n;
while ((n = walker.nextNode())) {
  const p = n.parentElement;
  if (!p || ['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(p.tagName)) continue;
  if (p.closest('.modebar, .leaflet-control-attribution')) continue;
  let hidden = false;
  for (let e = p; e && e !== document.body; e = e.parentElement) {
    if (!visible(e)) { hidden = true; break; }
  }
  if (hidden) continue;
  const t = n.textContent.trim();
  if (t) out.push(t);
}
for (const el of document.querySelectorAll('[placeholder], [title], [aria-label]')) {
  if (el.closest('.modebar, .leaflet-control-attribution') || !el.getClientRects().length) continue;
  for (const a of ['placeholder', 'title', 'aria-label']) {
    const v = el.getAttribute(a);
    if (v && v.trim()) out.push(v.trim());
  }
}
out.push(document.title);
return out;
"""


def _data_strings(database) -> tuple[str, set[str]]:
    """(blob of data texts, proper-noun tokens) read from the database."""
    from store.models import (
        Alert,
        Area,
        Camera,
        CameraStatusEvent,
        Complaint,
        Incident,
        Opd,
        OpdIndicator,
        Sensor,
        SmsMessage,
        SopTemplate,
        User,
    )

    texts: list[str] = []
    names: list[str] = []
    with database.session() as s:
        for row in s.execute(
            select(Complaint.title, Complaint.description, Complaint.address)
        ).all():
            texts += [x for x in row if x]
        for row in s.execute(select(Incident.title, Incident.description, Incident.address)).all():
            texts += [x for x in row if x]
        texts += [x for x in s.scalars(select(SmsMessage.text)) if x]
        texts += [x for x in s.scalars(select(CameraStatusEvent.reason)) if x]
        # the engine's own record of an alert (store.rules writes it in Indonesian); the title
        # shown everywhere is rendered per language and stays checked
        texts += [x for x in s.scalars(select(Alert.detail)) if x]
        # SOP steps as the city wrote them (each step may carry an English text as well)
        for steps in s.scalars(select(SopTemplate.steps)):
            for step in steps or []:
                if isinstance(step, dict):
                    texts += [str(v) for v in step.values() if isinstance(v, str) and len(v) >= 8]
                    names.append(str(step.get("key") or ""))  # a step's key is a code name
        # indicator names are the city's own words unless it gave an English name too
        texts += [
            x
            for x in s.scalars(select(OpdIndicator.name).where(OpdIndicator.name_en.is_(None)))
            if x
        ]
        for cols in (
            ((Camera.name, Camera.address, Camera.kecamatan, Camera.status_reason)),
            (Opd.name, Opd.short_name),
            (Sensor.name,),
            (Area.name,),
            (User.full_name, User.username),
        ):
            for row in s.execute(select(*cols)).all():
                names += [x for x in row if x]
    try:
        import json
        from pathlib import Path

        sop = Path(__file__).resolve().parents[2] / "data" / "sop_templates.json"
        raw = json.dumps(json.loads(sop.read_text()), ensure_ascii=False)
        texts += re.findall(r'"([^"]{8,})"', raw)
        names += re.findall(r'"key": "([^"]+)"', raw)
    except (OSError, ValueError):
        pass
    tokens = {w.lower() for x in names for w in WORD.findall(x)}
    return "\n".join(texts + names), tokens


def offenders(texts: list[str], lang: str, blob: str, proper: set[str]) -> set[str]:
    """Words of the other language in ``texts`` (data texts and proper nouns left out)."""
    banned = ID_WORDS if lang == "en" else EN_WORDS
    found = set()
    for text in texts:
        for part in SEPARATORS.split(text):
            core = part.rstrip("…. ").strip()
            if len(core) >= 8 and core in blob:  # a data text (or its start) shown as is
                continue
            if "{" in part:  # a JSON shape or template (field names are code, not language)
                continue
            for word in WORD.findall(IDENTIFIER.sub(" ", part)):
                w = word.lower()
                if w in banned and w not in ALLOW and w not in proper:
                    found.add(f"{word!r} in {text[:90]!r}")
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    reason = browser_available()
    if reason:
        require_service("Chromium", reason)
    from pantau.settings import Settings
    from store import users
    from store.db import Database
    from store.seed import DemoSpec, seed_demo

    var = tmp_path_factory.mktemp("lang") / "var"
    settings = Settings(var_dir=var, secret_key="lang-test", ingest_enabled=False, map_tile_url="")
    settings.ensure_dirs()
    database = Database(settings.sqlalchemy_url)
    database.migrate()
    with database.session() as s:
        seed_demo(s, DemoSpec(days=35))
        dishub = users.find_opd(s, "DISHUB")
        users.create_user(
            s, "uji_opd", "Uji-Pantau-2026!x", "opd", full_name="Uji OPD", opd_id=dishub.id
        )
    from tests.ui.harness import running_app

    with running_app(settings, database) as base:
        yield base, database
    database.dispose()


def _pages_for(role: str | None, database) -> list[str]:
    """Concrete paths of every page ``role`` may open (a camera and an alert for templates)."""
    import dash

    from dashboard.auth import _roles_allow, page_roles
    from store.models import Alert, Camera

    with database.session() as s:
        code = s.scalar(select(Camera.code).order_by(Camera.id))
        alert_id = s.scalar(select(Alert.id).order_by(Alert.id))
    out = []
    for page in dash.page_registry.values():
        if not _roles_allow(page_roles(page), role):
            continue
        path = page.get("path_template") or page["path"]
        if path in ("/403", "/404"):
            continue
        path = re.sub(r"<code>", str(code), path)
        path = re.sub(r"<alert_id>", str(alert_id), path)
        if "<" in path:
            path = re.sub(r"<[^>]+>", "1", path)
        out.append(path)
    return sorted(set(out))


#: Roles and the pages worth walking as them: the admin sees every staff page; the others see
#: pages that differ by role (read-only controls, their own OPD, the public pages).
ROLE_PAGES = {
    "admin": None,  # every page the admin may open
    "pimpinan": ("/", "/pengaduan/antrian", "/opd/pengaduan", "/laporan-harian"),
    "operator": ("/", "/peringatan"),
    "analis": ("/lalu-lintas",),
    "opd": ("/opd/pengaduan", "/indikator-opd"),
    None: ("/cctv", "/lapor", "/lapor/status", "/masuk"),
}


@pytest.mark.timeout(1200)  # ~40 page loads a language; slower when the box is busy
@pytest.mark.parametrize("lang", ["en", "id"])
def test_every_page_speaks_one_language(demo, lang):
    base, database = demo
    blob, proper = _data_strings(database)
    problems: dict[str, set[str]] = defaultdict(set)
    for role, wanted in ROLE_PAGES.items():
        paths = _pages_for(role, database)
        if wanted is not None:
            paths = [p for p in paths if p in wanted]
            assert paths, f"{role}: none of {wanted} open for this role"
        with chrome_driver((1440, 900)) as driver:
            if role == "opd":
                _login_as(driver, base, "uji_opd", "Uji-Pantau-2026!x")
            elif role is not None:
                login(driver, base, database, role=role)
            driver.get(f"{base}/lang/{lang}?next=/masuk")
            for path in paths:
                driver.get(base + path)
                _settle(driver)
                texts = driver.execute_script(COLLECT_JS)
                texts += driver.execute_script(
                    "return Array.from(document.querySelectorAll('.js-plotly-plot svg text'))"
                    ".map(t => t.textContent.trim()).filter(Boolean)"
                )
                found = offenders(texts, lang, blob, proper)
                if found:
                    problems[f"{role or 'public'} {path}"] |= found
    report = "\n".join(
        f"{where}: " + "; ".join(sorted(words)[:12]) for where, words in sorted(problems.items())
    )
    assert not problems, f"words of the other language ({lang} interface):\n{report}"


def _login_as(driver, base: str, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(base + "/masuk")
    wait = WebDriverWait(driver, 20)
    wait.until(EC.presence_of_element_located((By.ID, "login-username"))).send_keys(username)
    driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    wait.until(lambda d: "/masuk" not in d.current_url)


def _settle(driver) -> None:
    """Wait for the page's callbacks (and a chart or two) to finish."""
    import time

    time.sleep(1.0)
    with contextlib.suppress(Exception):  # a page still loading is read as it is
        dash_idle(driver, timeout=30)
    time.sleep(0.5)


def test_word_lists_catch_what_they_should():
    """The checker itself: a mixed sentence is caught, data and proper nouns are not."""
    blob = "Jalan berlubang di depan pasar, sudah sebulan"
    proper = {"simpang", "charitas"}
    assert offenders(["Genangan 62% di Simpang Charitas"], "en", blob, proper) == {
        "'Genangan' in 'Genangan 62% di Simpang Charitas'",
        "'di' in 'Genangan 62% di Simpang Charitas'",
    }
    assert not offenders(["Water covers 62% of the road at Simpang Charitas"], "en", blob, proper)
    assert not offenders(["Jalan berlubang di depan pasar…"], "en", blob, proper)  # data
    assert offenders(["Start Date"], "id", blob, proper) == {
        "'Start' in 'Start Date'",
        "'Date' in 'Start Date'",
    }
    assert not offenders(["Tanggal awal", "SIAGA", "Kecamatan"], "id", blob, proper)
