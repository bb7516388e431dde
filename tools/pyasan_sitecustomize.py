"""sitecustomize for `make test-python-asan` (docs/sanitizers.md).

The interpreter under test runs with libasan (and libstdc++) in
LD_PRELOAD, as the ASan build of lazycogs._ext needs the ASan runtime
loaded first. Python processes the tests start (subprocess, multiprocessing,
dask workers) need it too, so it stays in the environment; but other
programs must not inherit it: an uninstrumented program with libasan
preloaded may hang (curl --version deadlocks in setlocale). So every
subprocess.Popen of a program that is not Python gets an environment
without it, and every Python child one with it.
"""
import os
import subprocess
import sys

_PRELOAD = os.environ.get("LD_PRELOAD", "")


def _is_python(args, kwargs):
    exe = kwargs.get("executable")
    if exe is None:
        if isinstance(args, (str, bytes, os.PathLike)):
            exe = os.fsdecode(args).split()[0] if kwargs.get("shell") else args
        elif args:
            exe = args[0]
        else:
            return False
    exe = os.fsdecode(exe)
    return exe == sys.executable or os.path.basename(exe).startswith("python")


if _PRELOAD:
    _popen_init = subprocess.Popen.__init__

    def _init(self, args, *rest, **kwargs):
        env = kwargs.get("env")
        env = dict(os.environ if env is None else env)
        if _is_python(args, kwargs):
            env["LD_PRELOAD"] = _PRELOAD
        else:
            env.pop("LD_PRELOAD", None)
        kwargs["env"] = env
        _popen_init(self, args, *rest, **kwargs)

    subprocess.Popen.__init__ = _init
