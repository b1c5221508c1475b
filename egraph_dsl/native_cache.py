"""The on-disk cache of natively compiled code (the native backend's modules, extract's C kernel).

The cache lives in ``$EGRAPH_DSL_NATIVE_CACHE``, else ``$XDG_CACHE_HOME/egraph-dsl/native``, else
``~/.cache/egraph-dsl/native``. :func:`build_cached` compiles into a private temporary folder
inside it and renames the result into place, so a concurrent process sees no file or the whole
library, never a partial one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

CACHE_ENV = "EGRAPH_DSL_NATIVE_CACHE"


def cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "egraph-dsl" / "native"


def build_cached(target: Path, source: str, source_name: str, command: Callable[[Path, Path], list[str]],
                 timeout: float) -> subprocess.CompletedProcess[str]:
    """Compile ``source`` (written as ``source_name``) with ``command(src, out)`` and move the
    output to ``target`` if the compiler succeeded; the compiler's result either way.

    Raises OSError (the cache folder cannot be written) or subprocess.SubprocessError (the
    compiler did not run, or ran past ``timeout`` seconds).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        src = work / source_name
        src.write_text(source)
        out = work / target.name
        result = subprocess.run(command(src, out), capture_output=True, text=True, timeout=timeout)
        if result.returncode == 0:
            os.replace(out, target)  # atomic
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)
