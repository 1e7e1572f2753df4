"""Processes that die with the one that started them, so a killed server leaves no orphan
holding its port or its data (gunicorn's workers, gunicorn, nx-27017 and the events relay under
`make run`)."""

import ctypes
import os
import sys

_PR_SET_PDEATHSIG = 1
# Loaded here, before any fork: the child of a threaded parent must not dlopen.
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent(signum: int, parent_pid: int) -> None:
    """Have Linux send `signum` to this process when its parent (`parent_pid`) dies
    (prctl PR_SET_PDEATHSIG). Call it in the child right after the fork; elsewhere than on
    Linux it does nothing."""
    if _libc is None:
        return
    if _libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    # The parent may have died between the fork and the prctl: nobody would signal us then.
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signum)
