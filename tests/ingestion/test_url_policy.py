"""Camera URL rules (issue 10): what the outside probe got through - file:// URLs, the cloud
metadata address, userinfo tricks, gopher:, javascript:, text that is no URL, redirects to
another host or port, HLS segments on another host, rtsp with a file:// URL - is refused at
import (row and rule named, nothing written) and at fetch (nothing requested, camera offline
at once with a readable reason). Real HTTP servers on loopback count what reaches them."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from ingest_helpers import VIDEO
from sqlalchemy import func, select

from ingestion.health import CameraHealth
from ingestion.importers import RegistryImportError, import_cameras
from ingestion.local import fetch_frames
from ingestion.process import CameraSpec
from ingestion.sources import Timeouts, UrlNotAllowed, open_source
from ingestion.url_policy import UrlPolicy
from pantau.settings import Settings
from store.models import Camera, CameraStatus

FAST = Timeouts(connect_s=2.0, read_s=2.0)
JPEG = cv2.imencode(".jpg", np.full((48, 64, 3), 90, np.uint8))[1].tobytes()

#: (stream_url, protocol, rule the import must name)
PROBE_URLS = [
    ("file:///etc/passwd", "snapshot", "scheme"),
    ("file:///etc/passwd", "file", "media-dir"),
    ("http://169.254.169.254/latest/meta-data/", "snapshot", "link-local"),
    ("http://127.0.0.1:18000@169.254.169.254/", "snapshot", "userinfo"),
    ("gopher://127.0.0.1:6379/_INFO", "snapshot", "scheme"),
    ("javascript:alert(1)", "mjpeg", "scheme"),
    ("not a url at all", "snapshot", "syntax"),
    ("file:///etc/passwd", "rtsp", "scheme"),
    ("http://2852039166/latest/", "snapshot", "link-local"),  # 169.254.169.254 as a number
    ("http://[fe80::1]/x.jpg", "snapshot", "link-local"),
    ("rtsp://10.0.0.5/live", "hls", "scheme"),
]


class Recorder(http.server.ThreadingHTTPServer):
    """A loopback HTTP server answering from ``routes`` (path -> (status, headers, body)) and
    recording every path it was asked for."""

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        self.routes, self.paths, self.agents = routes, [], []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.paths.append(self.path)
                server.agents.append(self.headers.get("User-Agent", ""))
                status, headers, body = server.routes.get(self.path, (404, {}, b"no"))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def servers() -> Iterator[tuple[Recorder, Recorder]]:
    a, b = Recorder({}), Recorder({"/x.jpg": (200, {"Content-Type": "image/jpeg"}, JPEG)})
    yield a, b
    for s in (a, b):
        s.shutdown()
        s.server_close()


def policy(tmp_path: Path, **kw) -> UrlPolicy:
    return UrlPolicy(media_dir=kw.pop("media_dir", tmp_path / "media"), **kw)


# --- import ------------------------------------------------------------------------------------
def test_import_refuses_each_probe_url_naming_row_and_rule(db, tmp_path):
    rows = "".join(
        f'T-{i},Kamera {i},-2.9,104.7,{proto},"{url}"\n'
        for i, (url, proto, _rule) in enumerate(PROBE_URLS)
    )
    f = tmp_path / "cams.csv"
    f.write_text("code,name,lat,lon,protocol,stream_url\nOK-1,Baik,-2.9,104.7,snapshot,"
                 "http://192.168.1.20/snap.jpg\n" + rows)  # fmt: skip
    with db.session() as s, pytest.raises(RegistryImportError) as err:
        import_cameras(s, f, policy=policy(tmp_path))
    errors = err.value.errors
    assert len(errors) == len(PROBE_URLS), errors
    for i, (_url, proto, rule) in enumerate(PROBE_URLS):
        row = i + 3  # header is row 1, OK-1 row 2
        mine = [e for e in errors if e.startswith(f"row {row}, field 'stream_url'")]
        assert mine and f"(rule: {rule})" in mine[0] and f"protocol {proto}" in mine[0], (
            row,
            errors,
        )
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Camera)) == 0  # nothing written


def test_import_keeps_loopback_private_credentials_and_media_files(db, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    (media / "clip.avi").write_bytes(b"x")
    f = tmp_path / "cams.csv"
    f.write_text(
        "code,name,lat,lon,protocol,stream_url\n"
        "A,Sim,-2.9,104.7,mjpeg,http://127.0.0.1:8554/cam/0/mjpeg\n"
        "B,NVR,-2.9,104.7,rtsp,rtsp://admin:12345@10.20.0.7:554/Streaming/101\n"
        "C,HLS,-2.9,104.7,hls,https://cctv.palembang.go.id/live/bkb.m3u8\n"
        f"D,File,-2.9,104.7,file,file://{media / 'clip.avi'}\n"
    )
    with db.session() as s:
        assert import_cameras(s, f, policy=policy(tmp_path)).created == 4


def test_camera_network_allow_list(tmp_path):
    p = policy(tmp_path, networks=(__import__("ipaddress").ip_network("10.20.0.0/16"),))
    p.check("rtsp://10.20.3.4/live", "rtsp")
    with pytest.raises(ValueError, match=r"outside the camera networks.*\(rule: network\)"):
        p.check("http://127.0.0.1:8554/cam/0/snapshot.jpg", "snapshot")
    with pytest.raises(ValueError, match="not a network"):
        Settings(camera_networks="10.20.0.0/16, not-a-net")


# --- fetch -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("url", "protocol", "rule"), PROBE_URLS)
def test_fetch_refuses_probe_urls_before_any_io(tmp_path, url, protocol, rule):
    with pytest.raises(UrlNotAllowed, match=rf"\(rule: {rule}\)"):
        open_source(url, protocol, FAST, policy=policy(tmp_path))


def test_fetch_of_a_refused_camera_requests_nothing_and_goes_offline_at_once(tmp_path, servers):
    a, _b = servers
    settings = Settings(var_dir=tmp_path / "var", database_url="", secret_key="t")
    # the userinfo trick with our own recorder as the "user": the real host is 169.254.169.254
    url = f"http://127.0.0.1:{a.port}@169.254.169.254/latest/meta-data/"
    spec = CameraSpec(id=1, code="T-1", url=url, protocol="snapshot", interval_s=60)
    health = CameraHealth(1, "T-1", offline_after=3)
    with pytest.raises(UrlNotAllowed) as err:
        fetch_frames({}, spec, settings)
    health.record_failure(err.value.kind, str(err.value))
    assert health.status == CameraStatus.OFFLINE  # first failure: offline, no retries needed
    assert health.reason.startswith("URL ditolak / URL not allowed:")
    assert "rule: userinfo" in health.reason
    assert a.paths == []


@pytest.mark.parametrize("protocol", ["snapshot", "mjpeg"])
def test_redirect_to_another_port_is_refused_and_never_requested(tmp_path, servers, protocol):
    a, b = servers
    a.routes["/snap"] = (302, {"Location": b.url("/x.jpg")}, b"")
    with (
        pytest.raises(UrlNotAllowed, match=r"redirect to another host or port.*same-host"),
        open_source(a.url("/snap"), protocol, FAST, policy=policy(tmp_path)) as src,
    ):
        src.read()
    assert a.paths == ["/snap"] and b.paths == []


def test_redirect_to_another_host_is_refused(tmp_path, servers):
    a, _b = servers
    a.routes["/snap"] = (307, {"Location": a.url("/x.jpg", host="localhost")}, b"")
    a.routes["/x.jpg"] = (200, {"Content-Type": "image/jpeg"}, JPEG)
    with (
        pytest.raises(UrlNotAllowed, match="another host"),
        open_source(a.url("/snap"), "snapshot", FAST, policy=policy(tmp_path)) as src,
    ):
        src.read()
    assert a.paths == ["/snap"]


def test_redirect_to_the_link_local_address_is_refused(tmp_path, servers):
    a, _b = servers
    a.routes["/snap"] = (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
    with (
        pytest.raises(UrlNotAllowed, match=r"link-local"),
        open_source(a.url("/snap"), "snapshot", FAST, policy=policy(tmp_path)) as src,
    ):
        src.read()


def test_redirects_on_the_same_host_or_to_an_allowed_host_are_followed(tmp_path, servers):
    a, b = servers
    a.routes["/snap"] = (302, {"Location": "/x.jpg"}, b"")
    a.routes["/x.jpg"] = (200, {"Content-Type": "image/jpeg"}, JPEG)
    a.routes["/away"] = (302, {"Location": b.url("/x.jpg")}, b"")
    with open_source(a.url("/snap"), "snapshot", FAST, policy=policy(tmp_path)) as src:
        assert src.read().shape == (48, 64, 3)
    allowed = policy(tmp_path, follow_hosts=frozenset({f"127.0.0.1:{b.port}"}))
    with open_source(a.url("/away"), "snapshot", FAST, policy=allowed) as src:
        assert src.read().shape == (48, 64, 3)
    assert b.paths == ["/x.jpg"]


def test_hls_playlist_with_segments_on_another_host_is_refused(tmp_path, servers):
    a, b = servers
    playlist = (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:2.0,\n{b.url('/seg0.ts')}\n#EXT-X-ENDLIST\n"
    ).encode()
    a.routes["/live.m3u8"] = (200, {"Content-Type": "application/vnd.apple.mpegurl"}, playlist)
    with (
        pytest.raises(UrlNotAllowed, match=r"HLS segment to another host or port"),
        open_source(a.url("/live.m3u8"), "hls", FAST, policy=policy(tmp_path)) as src,
    ):
        src.read()
    assert b.paths == []  # FFmpeg never got to fetch the segment


def test_hls_master_playlist_variant_pointing_elsewhere_is_refused(tmp_path, servers):
    a, b = servers
    master = f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n{b.url('/v.m3u8')}\n".encode()
    a.routes["/master.m3u8"] = (200, {}, master)
    with (
        pytest.raises(UrlNotAllowed, match="HLS playlist to another host"),
        open_source(a.url("/master.m3u8"), "hls", FAST, policy=policy(tmp_path)) as src,
    ):
        src.read()
    assert b.paths == []


def test_hls_on_its_own_host_still_plays(hls_url, tmp_path):
    with open_source(hls_url, "hls", Timeouts(5, 5), max_width=320, policy=policy(tmp_path)) as src:
        assert src.read().shape[1] == 320


def test_rtsp_protocol_with_a_file_url_reads_nothing(tmp_path):
    with pytest.raises(UrlNotAllowed, match=r"scheme 'file' is not allowed for protocol 'rtsp'"):
        open_source(f"file://{VIDEO}", "rtsp", FAST, policy=policy(tmp_path))


def test_file_cameras_only_under_the_media_dir(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    inside = media / "clip.avi"
    inside.write_bytes(VIDEO.read_bytes())
    (media / "escape.avi").symlink_to(VIDEO)  # a symlink out of the media dir
    p = policy(tmp_path)
    with open_source(f"file://{inside}", "file", FAST, max_width=384, policy=p) as src:
        assert src.read().shape == (288, 384, 3)
    for bad in (str(VIDEO), f"file://{media}/../../{VIDEO.name}", str(media / "escape.avi")):
        with pytest.raises(UrlNotAllowed, match=r"media directory.*\(rule: media-dir\)"):
            open_source(bad, "file", FAST, policy=p)


def test_cli_import_names_the_rule(settings, tmp_path, monkeypatch):
    """`pantau import cameras` prints the rule too (its console must not eat it as markup)."""
    from typer.testing import CliRunner

    from pantau import cli
    from pantau import settings as settings_mod

    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr(settings_mod, "get_settings", lambda: settings)
    f = tmp_path / "cams.csv"
    f.write_text(
        "code,name,lat,lon,protocol,stream_url\n"
        "X-1,Meta,-2.9,104.7,snapshot,http://169.254.169.254/latest/meta-data/\n"
    )
    result = CliRunner().invoke(cli.app, ["import", "cameras", "--dry-run", str(f)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())  # the console wraps long lines
    assert "row 2, field 'stream_url'" in text and "(rule: link-local)" in text


def test_local_pool_puts_a_refused_camera_offline_without_fetching(settings, sqlite_db, servers):
    """End to end through the worker processes and the writer: a camera row whose URL was put
    in the database by other means than the importer is never fetched; it goes offline at the
    first attempt (no degraded step) with the rule in its reason; a good camera runs on."""
    from ingest_helpers import make_camera, wait_for

    from ingestion.local import Supervisor
    from store.models import CameraStatusEvent

    a, b = servers
    settings = settings.model_copy(update={"workers": 1, "offline_after_failures": 3})
    with sqlite_db.session() as s:
        bad = make_camera(
            s, "BAD-1", f"http://127.0.0.1:{a.port}@169.254.169.254/latest/", "snapshot"
        ).id
        good = make_camera(s, "GOOD-1", b.url("/x.jpg"), "snapshot").id
    sup = Supervisor(settings, sqlite_db, backoff_base_s=0.5, reload_every_s=1000)
    sup.start()
    try:

        def status(cam_id: int) -> tuple[str, str | None]:
            with sqlite_db.session() as s:
                cam = s.get(Camera, cam_id)
                return cam.status, cam.status_reason

        assert wait_for(lambda: status(bad)[0] == CameraStatus.OFFLINE, 60), status(bad)
        assert wait_for(lambda: status(good)[0] == CameraStatus.ONLINE, 60), status(good)
    finally:
        sup.stop()
    reason = status(bad)[1] or ""
    assert reason.startswith("URL ditolak / URL not allowed") and "rule: userinfo" in reason
    with sqlite_db.session() as s:
        events = list(
            s.scalars(select(CameraStatusEvent.status).where(CameraStatusEvent.camera_id == bad))
        )
    assert events == ["offline"], events
    assert a.paths == []  # nothing was requested from the host hidden in the user name
    assert b.paths  # the good camera was fetched


def test_hls_is_fetched_by_pantau_and_a_changing_live_playlist_is_rechecked(
    hls_url, tmp_path, servers
):
    """FFmpeg never touches the network for HLS: every request the camera gets comes from
    Pantau's own client (a live playlist included); when the live playlist starts listing
    segments on another host the persistent reader stops with UrlNotAllowed, and nothing is
    requested from that host."""
    import httpx

    a, b = servers
    base = hls_url.rsplit("/", 1)[0]
    lines = httpx.get(hls_url, timeout=10).text.splitlines()
    live = [ln for ln in lines if ln != "#EXT-X-ENDLIST"]  # a live camera: no end
    for ln in live:
        if ln and not ln.startswith("#"):
            a.routes[f"/{ln}"] = (200, {}, httpx.get(f"{base}/{ln}", timeout=10).content)
    a.routes["/live.m3u8"] = (200, {}, "\n".join(live).encode())
    src = open_source(a.url("/live.m3u8"), "hls", Timeouts(5, 5), persistent=True,
                      policy=policy(tmp_path))  # fmt: skip
    try:
        assert src.read().shape[0] > 0
        assert a.agents and all(ua.startswith("Pantau") for ua in a.agents), set(a.agents)
        moved = [b.url(f"/{ln}") if ln and not ln.startswith("#") else ln for ln in live]
        a.routes["/live.m3u8"] = (200, {}, "\n".join(moved).encode())
        deadline = time.monotonic() + 20  # generous: the playlist is re-read every ~1 s
        with pytest.raises(UrlNotAllowed, match="HLS segment to another host"):
            while time.monotonic() < deadline:
                src.read()
                time.sleep(0.05)
    finally:
        src.close()
    assert b.paths == []
    assert all(ua.startswith("Pantau") for ua in a.agents), set(a.agents)


def test_import_does_not_hang_on_a_slow_dns_lookup(tmp_path, monkeypatch):
    """At import a name that does not resolve in time passes (it is checked at every fetch);
    at fetch, with a camera network allow-list, it is refused."""
    import ipaddress
    import threading

    import ingestion.url_policy as url_policy

    release = threading.Event()

    def slow(host: str, port: int) -> list[str]:
        release.wait(30)
        return ["169.254.169.254"]

    monkeypatch.setattr(url_policy, "LENIENT_RESOLVE_S", 0.2)
    p = policy(tmp_path, networks=(ipaddress.ip_network("10.0.0.0/8"),), resolver=slow)
    try:
        p.check("http://cam.example/snap.jpg", "snapshot", resolve="lenient")  # no hang
    finally:
        release.set()
    fast = policy(tmp_path, networks=(ipaddress.ip_network("10.0.0.0/8"),),
                  resolver=lambda h, port: (_ for _ in ()).throw(OSError("no such host")))  # fmt: skip
    with pytest.raises(ValueError, match=r"cannot resolve.*\(rule: network\)"):
        fast.check("http://cam.example/snap.jpg", "snapshot")
    resolved = policy(tmp_path, resolver=lambda h, port: ["169.254.169.254"])
    with pytest.raises(ValueError, match=r"cam.example \(169.254.169.254\).*link-local"):
        resolved.check("http://cam.example/snap.jpg", "snapshot", resolve="lenient")


def test_hls_master_playlist_uses_the_cheapest_variant(hls_url, tmp_path, servers):
    import httpx

    a, _b = servers
    base = hls_url.rsplit("/", 1)[0]
    media = httpx.get(hls_url, timeout=10).text
    for ln in media.splitlines():
        if ln and not ln.startswith("#"):
            a.routes[f"/low/{ln}"] = (200, {}, httpx.get(f"{base}/{ln}", timeout=10).content)
    a.routes["/low/index.m3u8"] = (200, {}, media.encode())
    a.routes["/high/index.m3u8"] = (200, {}, media.encode())
    a.routes["/master.m3u8"] = (200, {}, (
        b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=4000000\nhigh/index.m3u8\n"
        b"#EXT-X-STREAM-INF:BANDWIDTH=400000\nlow/index.m3u8\n"))  # fmt: skip
    with open_source(a.url("/master.m3u8"), "hls", Timeouts(5, 5), policy=policy(tmp_path)) as src:
        assert src.read().shape[0] > 0
    assert not any(p.startswith("/high/") for p in a.paths), a.paths


def test_hls_byte_range_playlists_get_a_clear_error(tmp_path, servers):
    from ingestion.sources import CorruptFrame

    a, _b = servers
    a.routes["/br.m3u8"] = (200, {}, (
        b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n#EXT-X-BYTERANGE:1000@0\nall.ts\n"
    ))  # fmt: skip
    with (
        pytest.raises(CorruptFrame, match="byte-range"),
        open_source(a.url("/br.m3u8"), "hls", FAST, policy=policy(tmp_path)) as src,
    ):
        src.read()
