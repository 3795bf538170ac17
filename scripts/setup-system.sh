#!/usr/bin/env bash
# Install the Debian/Ubuntu packages Pantau's tests use: ffmpeg (HLS/RTSP test streams),
# GStreamer's RTSP server (a real RTSP server on loopback), Chromium + chromedriver (browser
# tests and screenshots), fonts and opencv-doc (OpenCV's sample pictures: real licence plates
# for the privacy tests). Idempotent: does nothing when all are present.
set -euo pipefail

PACKAGES=(
  ffmpeg
  chromium chromium-driver
  fonts-dejavu-core fonts-noto-core
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools
  opencv-doc
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
echo "system packages to install: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# wait up to 10 minutes for the dpkg/apt lock (unattended-upgrades on a fresh machine) instead
# of failing at once
APT_LOCK=(-o DPkg::Lock::Timeout=600)
$SUDO apt-get "${APT_LOCK[@]}" update -qq
$SUDO apt-get "${APT_LOCK[@]}" install -y -qq --no-install-recommends "${missing[@]}"
