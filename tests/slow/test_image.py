#!/usr/bin/env python3
"""The container image, built and checked for real without a Docker engine (CTest label slow):
debootstrap a minimal bookworm root from the machine's own Debian mirror, import it into podman
as the Dockerfile's base images, `podman build --pull=never --isolation=chroot --format docker`
(docker format keeps HEALTHCHECK), inspect what the image declares (non-root user, HEALTHCHECK,
labels, entrypoint), then mount it and run the binary inside with chroot as the image's user:
`version`, then `serve` against a Redis on loopback answering /healthz, and the HEALTHCHECK
command itself. Prints the image size."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from mlctest import (BUILD_DIR, SOURCE_DIR, RedisServer, TestFailure, check, check_eq,  # noqa: E402
                     free_port, http_request, ns_event, run, say, wait_until)

CACHE = os.path.join(BUILD_DIR, "image-test")
ROOTFS_TAR = os.path.join(CACHE, "bookworm-minbase.tar")
BASE = "localhost/mlc-debian-minbase:bookworm"
IMAGE = "ml-connector:0.1.0"
PODMAN = ["podman", "--root", os.path.join(CACHE, "storage"), "--runroot",
          os.path.join(CACHE, "run"), "--storage-driver", "vfs"]


def sh(args, timeout=3600, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if p.returncode != 0:
        raise TestFailure(f"{' '.join(args[:6])}... exited {p.returncode}:\n{p.stderr[-3000:]}"
                          f"\n{p.stdout[-2000:]}")
    return p.stdout


def mirror():
    """The Debian mirror this machine's apt uses (deb822 or one-line sources)."""
    for path in ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"):
        try:
            for line in open(path):
                w = line.split()
                if w[:1] == ["URIs:"]:
                    return w[1]
                if w[:1] == ["deb"] and "security" not in line:
                    return next(x for x in w[1:] if "://" in x)
        except (OSError, StopIteration):
            continue
    raise TestFailure("no Debian mirror found in the apt sources")


def test_tools():
    """podman and debootstrap present (installed with apt-get when missing, as root)"""
    missing = [p for p, b in (("podman", "podman"), ("debootstrap", "debootstrap"))
               if not shutil.which(b)]
    if missing:
        check(os.geteuid() == 0, "root, to install " + " ".join(missing))
        sh(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    check(shutil.which("podman") and shutil.which("debootstrap"), "podman and debootstrap")


def test_base():
    """a debootstrapped minbase bookworm imported and tagged as the Dockerfile's bases"""
    os.makedirs(CACHE, exist_ok=True)
    if not os.path.exists(ROOTFS_TAR):
        root = os.path.join(CACHE, "rootfs")
        shutil.rmtree(root, ignore_errors=True)
        t0 = time.monotonic()
        sh(["debootstrap", "--variant=minbase", "bookworm", root, mirror()])
        # Like the official image: apt lists and caches are not part of the base.
        shutil.rmtree(os.path.join(root, "var/cache/apt/archives"), ignore_errors=True)
        sh(["tar", "-C", root, "-cf", ROOTFS_TAR + ".part", "."])
        os.rename(ROOTFS_TAR + ".part", ROOTFS_TAR)
        shutil.rmtree(root, ignore_errors=True)
        say(f"     debootstrap took {time.monotonic() - t0:.0f} s")
    sh(PODMAN + ["import", "--change", "CMD [\"/bin/bash\"]", ROOTFS_TAR, BASE])
    check(True, f"base image {BASE} imported ({os.path.getsize(ROOTFS_TAR) >> 20} MiB tar)")


def test_build():
    """podman build of docker/Dockerfile (runtime target) with no registry"""
    t0 = time.monotonic()
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=SOURCE_DIR,
                         capture_output=True, text=True).stdout.strip() or "unknown"
    sh(PODMAN + ["build", "--pull=never", "--isolation=chroot", "--format", "docker",
                 "--build-arg", f"BASE={BASE}", "--build-arg", f"RUNTIME_BASE={BASE}",
                 "--build-arg", f"MLC_GIT_REV={rev}", "--target", "runtime",
                 "-f", os.path.join(SOURCE_DIR, "docker", "Dockerfile"), "-t", IMAGE,
                 SOURCE_DIR])
    say(f"     podman build took {time.monotonic() - t0:.0f} s")
    info = json.loads(sh(PODMAN + ["image", "inspect", IMAGE]))[0]
    cfg = info.get("Config", {})
    hc = cfg.get("Healthcheck") or info.get("Healthcheck") or {}
    check_eq(cfg.get("User"), "10001:10001", "the image runs as a non-root user")
    check_eq(hc.get("Test"), ["CMD", "/usr/local/bin/ml-connector", "healthcheck"],
             "HEALTHCHECK runs `ml-connector healthcheck` (kept by the docker format)")
    check_eq(info.get("ManifestType"), "application/vnd.docker.distribution.manifest.v2+json",
             "docker manifest format")
    check_eq(cfg.get("Entrypoint"), ["/usr/local/bin/ml-connector"], "entrypoint")
    check_eq(cfg.get("Cmd"), ["serve"], "default command: serve")
    labels = cfg.get("Labels") or {}
    check(labels.get("org.opencontainers.image.title") == "ml-connector" and
          labels.get("org.opencontainers.image.revision") == rev, "OCI labels", labels)
    size = info.get("Size") or 0
    say(f"     figures: image {IMAGE} is {size / 1e6:.1f} MB "
        f"(the debootstrapped base alone {os.path.getsize(ROOTFS_TAR) / 1e6:.1f} MB)")
    check(size > 0, f"image size printed ({size / 1e6:.1f} MB)")


def test_run_in_image():
    """the binary runs inside the image (chroot as uid 10001): version, serve, healthcheck"""
    mnt = sh(PODMAN + ["image", "mount", IMAGE]).strip()
    try:
        chroot = [shutil.which("chroot"), "--userspec=10001:10001", mnt]
        out = sh(chroot + ["/usr/local/bin/ml-connector", "version"])
        check(out.startswith("ml-connector 0.1.0"), "`ml-connector version` in the image", out)
        ldd = subprocess.run(["chroot", mnt, "ldd", "/usr/local/bin/ml-connector"],
                             capture_output=True, text=True).stdout
        check("not found" not in ldd, "every shared library resolves inside the image", ldd)
        check(os.path.exists(os.path.join(mnt, "usr/local/share/ml-connector/mapping.json")),
              "the shipped mapping is next to the binary")
        check(not os.path.exists(os.path.join(mnt, "usr/bin/gcc")) and
              not os.path.exists(os.path.join(mnt, "usr/include/jansson.h")),
              "no compiler and no headers in the runtime image")
        redis = RedisServer("image")
        redis.start()
        port = free_port()
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin",
               "MLC_LISTEN": f"127.0.0.1:{port}",
               "MLC_REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
               "MLC_REDIS_KEY_PREFIX": f"imgtest{os.getpid()}:",
               "MLC_ALLOW_PLAINTEXT_SECRETS": "1",
               "MLC_NETSUITE_WEBHOOK_SECRETS": "image-test-secret",
               "MLC_NETSUITE_ALLOWED_CIDRS": "127.0.0.0/8",
               "MLC_DATAVERSE_WEBHOOK_KEYS": "image-test-key"}
        log = open(os.path.join(CACHE, "serve.log"), "wb")
        p = subprocess.Popen(chroot + ["/usr/local/bin/ml-connector", "serve"], env=env,
                             stdout=log, stderr=subprocess.STDOUT, cwd="/")
        try:
            wait_until(lambda: p.poll() is None and
                       http_request(port, "GET", "/healthz", timeout=3).status == 200,
                       "serve inside the image to answer /healthz", timeout=60)
            check(True, "serve in the image answers GET /healthz 200 (Redis on loopback)")
            r = http_request(port, "POST", "/v1/webhooks/netsuite", json.dumps(ns_event()),
                             {"Content-Type": "application/json",
                              "X-MLC-Webhook-Secret": "image-test-secret"})
            check_eq(r.status, 202, "a webhook into the image's service -> 202")
            hc = subprocess.run(chroot + ["/usr/local/bin/ml-connector", "healthcheck"],
                                env=env, capture_output=True, text=True, timeout=30)
            check_eq(hc.returncode, 0, "the HEALTHCHECK command exits 0 in the image")
            p.send_signal(signal.SIGTERM)
            check_eq(p.wait(timeout=60), 0, "SIGTERM -> exit 0")
        finally:
            if p.poll() is None:
                p.kill()
            log.close()
            redis.kill()
    finally:
        subprocess.run(PODMAN + ["image", "unmount", IMAGE], capture_output=True)


if __name__ == "__main__":
    run(test_tools, test_base, test_build, test_run_in_image)
