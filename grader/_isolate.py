"""Linux isolation steps run inside the grading child, before pytest starts.

:func:`enter_namespaces` makes the (single-threaded) child root of fresh user,
mount, network and PID namespaces, and :func:`become_pid1` forks so the process
that goes on is PID 1 there (when it ends, the kernel kills everything the
submission started). The child then uses its power once, and gives it up:

* a private tmpfs over the staging folder (size-capped, so filling the disk
  fails fast) holding the submission and its suite: the only writable place;
* the course's ``solutions/`` and ``tests/`` hidden under empty tmpfs mounts;
* every other mount remounted read-only (the repository, /tmp, $HOME,
  site-packages), ``/sys/fs/cgroup`` masked;
* the loopback interface brought up (exercise 28 needs 127.0.0.1; nothing
  else is reachable in a new network namespace);
* every capability dropped, with ``no_new_privs``, so the submission cannot
  undo any of it.

All of it goes through libc with ctypes because Python 3.11 has no
``os.unshare``/``mount`` and no library covers these few calls. Each step is
best effort and reports what it could not do: a weaker sandbox is announced,
never a crash of the grader.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import struct

__all__ = [
    "become_pid1",
    "drop_capabilities",
    "enter_namespaces",
    "hide",
    "loopback_up",
    "private_tmp",
    "read_only_everything",
]

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_RELATIME = 1 << 21

# The process's own symbols include libc's: find_library("c") would run
# ldconfig in a subprocess at every start.
_libc = ctypes.CDLL(None, use_errno=True)


def _mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None
) -> None:
    rc = _libc.mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as fh:
        fh.write(text)


def enter_namespaces() -> None:
    """Unshare user, mount, network and PID namespaces; be root in them.

    The caller must be single-threaded. Raises :class:`OSError` where the
    kernel or the container refuses (the caller then grades without them).
    """
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID
    if _libc.unshare(ctypes.c_int(flags)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare: {os.strerror(err)}")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/gid_map", f"0 {gid} 1")
    # Mounts made from now on stay in this namespace.
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)


def become_pid1() -> None:
    """Fork; the child returns as PID 1 of the new PID namespace.

    The parent stays behind only to wait and to pass the child's exit status
    (or death by signal) on to whoever started it.
    """
    pid = os.fork()
    if pid == 0:
        _libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
        # A container may refuse a fresh /proc; PIDs outside stay unreachable anyway.
        with contextlib.suppress(OSError):
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
        return
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code if code >= 0 else 128 - code)


def private_tmp(path: str, size_mb: int = 64) -> None:
    """A fresh, size-capped tmpfs on ``path`` (and /dev/shm) for this child only."""
    _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size_mb}m,mode=700")
    if os.path.isdir("/dev/shm"):
        with contextlib.suppress(OSError):
            _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777")


def hide(path: str) -> None:
    """Cover ``path`` with an empty read-only tmpfs."""
    _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=555")


def _flags_of(path: str) -> int:
    st = os.statvfs(path)
    flags = 0
    for st_bit, ms_bit in (
        (os.ST_NOSUID, MS_NOSUID),
        (os.ST_NODEV, MS_NODEV),
        (os.ST_NOEXEC, MS_NOEXEC),
        (os.ST_NOATIME, MS_NOATIME),
        (os.ST_NODIRATIME, MS_NODIRATIME),
        (os.ST_RELATIME, MS_RELATIME),
    ):
        if st.f_flag & st_bit:
            flags |= ms_bit
    return flags


def read_only_everything(keep_writable: tuple[str, ...]) -> list[str]:
    """Remount every mount point read-only except pseudo filesystems and ``keep_writable``.

    Returns the mount points that could not be made read-only.
    """
    failed: list[str] = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        points = [line.split()[4] for line in fh]
    for point in dict.fromkeys(points):
        point = point.replace("\\040", " ")
        if point.startswith(("/proc", "/dev", "/sys")) or point in keep_writable:
            continue
        if any(point.startswith(k.rstrip("/") + "/") for k in keep_writable):
            continue
        try:
            flags = _flags_of(point)
            _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, None)
        except OSError:
            failed.append(point)
    try:
        if os.path.isdir("/sys/fs/cgroup"):
            hide("/sys/fs/cgroup")
    except OSError:
        failed.append("/sys/fs/cgroup")
    return failed


def loopback_up() -> None:
    """Bring ``lo`` up in this network namespace (127.0.0.1 works, nothing else)."""
    siocsifflags = 0x8914
    iff_up, iff_loopback, iff_running = 0x1, 0x8, 0x40
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sH14s", b"lo", iff_up | iff_loopback | iff_running, b"\0" * 14)
        fcntl.ioctl(s.fileno(), siocsifflags, ifr)


def drop_capabilities() -> None:
    """Drop every capability for good and forbid regaining any (no_new_privs)."""
    pr_set_no_new_privs, pr_capbset_drop = 38, 24
    _libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0)
    for cap in range(64):
        _libc.prctl(pr_capbset_drop, cap, 0, 0, 0)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        ]

    header = Header(0x20080522, 0)
    data = (Data * 2)()
    if _libc.capset(ctypes.byref(header), data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset: {os.strerror(err)}")
