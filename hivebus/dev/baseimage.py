"""The base of every hivebus image, made here from Debian packages: no image registry needed.

`debootstrap --variant=minbase bookworm` makes a root filesystem, Python 3.11 is installed in
it with apt inside a chroot, and the result is tarred into the cache (`~/.cache/hivebus/images`,
`HIVEBUS_CACHE_DIR`) and `podman import`ed. The tarball is made once per machine (about a
minute); an engine that lost the image re-imports it in seconds. Building needs root.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hivebus.dev.podman import Podman, PodmanError

Say = Callable[[str], None]
BASE_IMAGE = "localhost/hivebus-base:bookworm"
SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv")
MIRROR_ENV = "HIVEBUS_DEBIAN_MIRROR"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
RECIPE = 1  # bump when the root filesystem is made differently, so caches are rebuilt
# Nothing a running agent reads: documentation, manuals, translations, apt's package lists.
PRUNED = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale",
          "var/lib/apt/lists", "var/cache/apt", "var/log")  # fmt: skip
IMAGE_CONFIG = ("ENV LANG=C.UTF-8", 'CMD ["/usr/bin/python3"]')


@dataclass(frozen=True)
class BaseReport:
    tag: str
    rootfs: Path
    built_s: float | None  # seconds debootstrap + apt took now; None when the cache had it
    imported: bool


def ensure_base_image(
    podman: Podman, cache_dir: Path, say: Say, *, tag: str = BASE_IMAGE, rebuild: bool = False
) -> BaseReport:
    """`tag` present in the engine, imported from the cached rootfs, built first if need be."""
    tarball = rootfs_tarball(cache_dir)
    if podman.image_exists(tag) and not rebuild:
        say(f"base image {tag} present")
        return BaseReport(tag, tarball, None, imported=False)
    with _locked(tarball.parent):
        built_s = None
        if podman.image_exists(tag) and not rebuild:  # another build imported it meanwhile
            return BaseReport(tag, tarball, None, imported=False)
        if rebuild or not tarball.exists():
            clock = time.monotonic()
            build_rootfs(tarball, say)
            built_s = time.monotonic() - clock
        else:
            say(f"using the cached root filesystem {tarball}")
        say(f"importing it as {tag}...")
        changes = [arg for change in IMAGE_CONFIG for arg in ("--change", change)]
        podman.run("import", *changes, str(tarball), tag, timeout_s=300)
    return BaseReport(tag, tarball, built_s, imported=True)


def rootfs_tarball(cache_dir: Path) -> Path:
    """Where the root filesystem is cached; its name changes with the recipe."""
    recipe = f"{RECIPE}:{SUITE}:{','.join(PACKAGES)}:{','.join(PRUNED)}"
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    return cache_dir / "images" / f"hivebus-base-{SUITE}-{digest}.tar"


def build_rootfs(tarball: Path, say: Say, mirror: str | None = None) -> None:
    """debootstrap + Python in a chroot, pruned and tarred to `tarball` (written atomically)."""
    if os.geteuid() != 0:
        raise PodmanError(
            "building the base image needs root (debootstrap and chroot); run as root once, "
            f"or import a Debian root filesystem with Python 3.11 as {BASE_IMAGE} yourself"
        )
    if shutil.which("debootstrap") is None:
        raise PodmanError("debootstrap is not installed (deploy/podman/install.sh installs it)")
    mirror = mirror or os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR
    tarball.parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="rootfs-", dir=tarball.parent))
    root.chmod(0o755)  # it becomes the image's `/`: mkdtemp's 0700 would lock out non-root users
    try:
        started = time.monotonic()
        say(f"building the base root filesystem: debootstrap {SUITE} from {mirror} (~40 s)...")
        _run(["debootstrap", "--variant=minbase", SUITE, str(root), mirror], say, started)
        say(f"installing {' '.join(PACKAGES)} in the chroot (~15 s)...")
        apt = ["chroot", str(root), "apt-get", "-y", "-q", "-o", "Dpkg::Use-Pty=0",
               "-o", "APT::Sandbox::User=root"]  # fmt: skip
        _run([*apt, "install", "--no-install-recommends", *PACKAGES], say, started)
        _run([*apt, "clean"], say, started)
        for pruned in PRUNED:
            for entry in (root / pruned).glob("*"):
                # A link is removed, never followed: it may point outside the chroot.
                is_tree = entry.is_dir() and not entry.is_symlink()
                shutil.rmtree(entry) if is_tree else entry.unlink()
        say("archiving the root filesystem...")
        partial = tarball.with_suffix(".partial")
        _run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(partial), "."], say, started)
        partial.replace(tarball)
        size_mb = tarball.stat().st_size / 1e6
        say(f"base root filesystem ready in {time.monotonic() - started:.0f} s ({size_mb:.0f} MB)")
    finally:
        # A debootstrap that failed midway may leave /proc, /sys or /dev mounted in the root:
        # deleting through them would reach the host's, so the folder is then left alone.
        if _unmount_under(root):
            shutil.rmtree(root, ignore_errors=True)
        else:
            say(f"warning: {root} still has file systems mounted in it; unmount and delete it")


def _unmount_under(root: Path) -> bool:
    """Unmount whatever is mounted inside `root`, deepest first; True when nothing is left."""
    for point in sorted(_mounts_under(root), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)
    return not _mounts_under(root)


def _mounts_under(root: Path) -> list[str]:
    lines = Path("/proc/self/mounts").read_text().splitlines()
    return [point for line in lines if (point := line.split()[1]).startswith(f"{root}/")]


def _run(command: Sequence[str], say: Say, started: float) -> None:
    """Run a build step, saying each new phase of its output rather than every package."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
           "DEBIAN_FRONTEND": "noninteractive"}  # fmt: skip
    child = subprocess.Popen(
        list(command), env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert child.stdout is not None
    seen: set[str] = set()
    tail: list[str] = []
    for raw in child.stdout:
        line = raw.rstrip()
        tail = [*tail[-14:], line]
        if line.startswith(_PHASES) and (phase := _phase(line)) not in seen:
            seen.add(phase)
            say(f"  [{time.monotonic() - started:3.0f} s] {line}")
    code = child.wait()
    if code != 0:
        raise PodmanError(
            f"`{' '.join(command[:3])} ...` failed (exit {code}):\n" + "\n".join(tail)
        )


# Lines of debootstrap and apt that name a phase; the first of each kind is said.
_PHASES = ("I: ", "W: ", "E: ", "Get:", "Fetched", "Unpacking", "Setting up")


def _phase(line: str) -> str:
    word = line.removeprefix("I: ").split(maxsplit=1)[0]
    return word.rstrip("0123456789")


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One builder at a time per cache: a second waits, then finds the tarball made."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
