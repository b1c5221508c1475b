"""Build and load generated extension modules with the system C++ compiler, cached on disk.

The cache key hashes the source, the compiler's version, the flags, the CPU (``-march=native``)
and the Python ABI, so a module is built once per machine and loaded (~0.4 ms) by every later
process. The cache lives in ``$EGRAPH_DSL_NATIVE_CACHE``, else ``$XDG_CACHE_HOME/egraph-dsl/native``,
else ``~/.cache/egraph-dsl/native``. A build writes into a private temporary folder and renames
the finished module into place, so concurrent processes never load a half-written file.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

from egraph_dsl.errors import BackendUnavailableError
from egraph_dsl.native_cache import CACHE_ENV as CACHE_ENV  # re-exported: the tests and users set it
from egraph_dsl.native_cache import build_cached, cache_dir

COMPILER_ENV = "EGRAPH_DSL_CXX"

# IEEE-faithful: no -ffast-math; no FMA contraction (a*b+c rounds twice, as NumPy); wrapping ints
BASE_FLAGS: tuple[str, ...] = ("-O3", "-march=native", "-std=c++17", "-fopenmp-simd", "-fno-math-errno",
                               "-fno-trapping-math", "-ffp-contract=off", "-fwrapv", "-fno-exceptions",
                               "-fvisibility=hidden", "-shared", "-fPIC")


def compiler() -> str | None:
    """The C++ compiler to use: ``$EGRAPH_DSL_CXX``, else g++ on PATH (None when there is none)."""
    explicit = os.environ.get(COMPILER_ENV)
    if explicit:
        return shutil.which(explicit)
    return shutil.which("g++")


@functools.cache
def _compiler_version(cxx: str) -> str:
    try:
        out = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackendUnavailableError(f"the C++ compiler {cxx} does not run: {exc}") from None
    return out.stdout.splitlines()[0] if out.stdout else cxx


@functools.cache
def cpu_signature() -> str:
    """What ``-march=native`` depends on: the CPU model and feature flags (Linux), or the machine."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine() + platform.processor()
    keep = [line for line in text.splitlines() if line.startswith(("model name", "flags", "Features"))]
    return "\n".join(sorted(set(keep)))


@functools.cache
def flags() -> tuple[str, ...]:
    """Compiler flags: the base set, plus a vector width matching the CPU (gcc prefers 128 bits on
    some AMD parts, which halves the libmvec lanes)."""
    features = set(cpu_signature().split())
    width = ("-mprefer-vector-width=512",) if "avx512f" in features else (
        ("-mprefer-vector-width=256",) if "avx2" in features else ())
    return (*BASE_FLAGS, *width)


def cache_key(source: str, cxx: str) -> str:
    parts = [source, _compiler_version(cxx), " ".join(flags()), cpu_signature(),
             sysconfig.get_config_var("EXT_SUFFIX") or "", sys.version]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


def module_name(source_without_name: str) -> str:
    """A stable module name for a source (the name is part of the source, so it comes first)."""
    return "egd_" + hashlib.sha256(source_without_name.encode()).hexdigest()[:16]


def _load(path: Path, name: str) -> ModuleType:
    loader = importlib.machinery.ExtensionFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, str(path), loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def build(name: str, source: str) -> ModuleType:
    """The extension module ``name`` built from ``source`` (from the disk cache when present).

    Raises :class:`BackendUnavailableError` when there is no compiler or the build fails.
    """
    cxx = compiler()
    if cxx is None:
        raise BackendUnavailableError("the native backend needs a C++ compiler (g++ on PATH, or $EGRAPH_DSL_CXX)")
    directory = cache_dir()
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    target = directory / f"{name}_{cache_key(source, cxx)}{suffix}"
    if not target.exists():
        include = sysconfig.get_paths()["include"]
        try:
            result = build_cached(target, source, f"{name}.cpp",
                                  lambda src, out: [cxx, *flags(), f"-I{include}", str(src), "-o", str(out), "-lm"],
                                  timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            raise BackendUnavailableError(f"the native build did not run ({cxx}): {exc}") from None
        if result.returncode:
            raise BackendUnavailableError(f"the native build failed ({cxx}, exit {result.returncode}): "
                                          f"{result.stderr.strip()[:2000]}")
    return _load(target, name)
