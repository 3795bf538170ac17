"""A tiny RTSP server for tests: Debian's gst-rtsp-server via the SYSTEM python3.

    /usr/bin/python3 tests/ingestion/rtsp_server.py VIDEO PORT NAME

Serves VIDEO (any format GStreamer decodes) as H.264 at rtsp://127.0.0.1:PORT/NAME, looping
isn't needed for tests (each client gets the media from the start). Prints "READY" when
listening.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    video, port, name = sys.argv[1], sys.argv[2], sys.argv[3]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( filesrc location="{video}" ! decodebin ! videoconvert ! videoscale ! '
        "video/x-raw,width=384,height=288 ! x264enc tune=zerolatency speed-preset=ultrafast "
        "key-int-max=10 ! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    factory.set_shared(False)
    server.get_mount_points().add_factory(f"/{name}", factory)
    if server.attach(None) == 0:
        print("FAILED", flush=True)
        sys.exit(1)
    print("READY", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
