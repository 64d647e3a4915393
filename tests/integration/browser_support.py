"""A real browser for the page tests: Debian's Chromium, driven by Playwright.

Playwright's own browser download cannot work on these machines, so the tests launch the
system's `/usr/bin/chromium`. When it is missing it is installed once with apt-get, as the
container tests install podman (CI runs as root). A test skips only where installing is
impossible (no apt-get, not root), and says why. Under CI it fails instead, so a missing
browser never passes unnoticed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
PACKAGES = ("chromium", "fonts-dejavu-core")  # the page's font, so screenshots read well
FONTS = Path("/usr/share/fonts/truetype/dejavu")
INSTALL_TIMEOUT_S = 1200


def ensure_chromium() -> Path:
    """The path of Chromium, installed first if need be."""
    if not _installed():
        problem = _install()
        if not _installed():
            reason = f"Chromium is missing and could not be installed: {problem}"
            if os.environ.get("CI"):
                pytest.fail(reason)
            pytest.skip(reason)
    return CHROMIUM


def _installed() -> bool:
    return CHROMIUM.exists() and FONTS.is_dir()


def _install() -> str:
    """Why installing failed (apt-get's own words), or what is still odd after it."""
    if shutil.which("apt-get") is None:
        return f"this is no Debian/Ubuntu system (no apt-get): install {' '.join(PACKAGES)}"
    if os.geteuid() != 0:
        return f"not root: run `apt-get install {' '.join(PACKAGES)}` as root"
    print(f"installing {' '.join(PACKAGES)} with apt-get (first run only)")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        done = subprocess.run(
            command, capture_output=True, text=True, env=environment, timeout=INSTALL_TIMEOUT_S
        )
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()[-5:]
            return f"`{' '.join(command)}` exited {done.returncode}: " + " / ".join(said)
    return f"apt-get succeeded, yet {CHROMIUM} or {FONTS} is not there"
