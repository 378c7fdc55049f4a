"""Two ways to measure what installing a client costs on disk.

* ``venv``: a fresh venv (no pip inside) per client, filled by this
  interpreter's pip (``pip --python``), then its site-packages summed. Needs the
  package index (the machine's ordinary pip setup).
* ``metadata``: no install: the dependency closure from this environment's
  ``importlib.metadata`` requirements, sizes from each distribution's RECORD
  (editable installs: the package's source files). Quick, approximate.

Both leave out bytecode caches (``--no-compile``; RECORD's ``.pyc`` entries), so
they measure the same thing: the files a distribution ships.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path


@dataclass(frozen=True)
class Footprint:
    size: int  # bytes
    dists: list[str]


_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "README.md", "LICENSE", "MANIFEST.in")


def tree_size(root: Path) -> int:
    """Bytes of the regular files under ``root``, bytecode caches left out."""
    total = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                total += path.stat().st_size
    return total


def _copy_project(repo: Path, dest: Path) -> Path:
    """The files an sdist of the repo holds, so the build leaves nothing in the shared tree."""
    dest.mkdir()
    for name in _PROJECT_FILES:
        if (repo / name).exists():
            shutil.copy2(repo / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(repo / "rawclaude", dest / "rawclaude", ignore=ignore)
    return dest


def install_in_venv(specs: list[str], repo: Path, timeout: float) -> Footprint:
    with tempfile.TemporaryDirectory(prefix="bench-footprint-") as tmp:
        specs = [str(_copy_project(repo, Path(tmp, "src"))) if s == "." else s for s in specs]
        env = Path(tmp, "venv")
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
        python = env / "bin" / "python"
        pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        subprocess.run(
            [*pip, "--no-compile", "--disable-pip-version-check", *specs],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dists = sorted(p.name[: -len(".dist-info")] for p in Path(site).glob("*.dist-info"))
        return Footprint(tree_size(Path(site)), dists)


def _requirement_name(req: str) -> str | None:
    """The name of a requirement that applies to a plain install (no extra)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:  # packaging is a matplotlib dependency; this is a fallback
        if "extra ==" in req:
            return None
        found = re.match(r"[A-Za-z0-9._-]+", req)
        return found.group(0) if found else None
    parsed = Requirement(req)
    if parsed.marker is not None and not parsed.marker.evaluate({"extra": ""}):
        return None
    return parsed.name


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(roots: list[str]) -> dict[str, metadata.Distribution]:
    """Every installed distribution the roots need, the roots included."""
    seen: dict[str, metadata.Distribution] = {}
    todo = list(roots)
    while todo:
        name = _canonical(todo.pop())
        if name in seen:
            continue
        dist = metadata.distribution(name)
        seen[name] = dist
        for req in dist.requires or []:
            dep = _requirement_name(req)
            if dep is not None:
                todo.append(dep)
    return seen


def _editable_sources(dist: metadata.Distribution) -> int:
    direct = dist.read_text("direct_url.json")
    if not direct or not json.loads(direct).get("dir_info", {}).get("editable"):
        return 0
    tops = (dist.read_text("top_level.txt") or dist.metadata["Name"]).split()
    total = 0
    for top in tops:
        spec = find_spec(top)
        for location in (spec.submodule_search_locations or []) if spec else []:
            total += tree_size(Path(location))
    return total


def dist_size(dist: metadata.Distribution) -> int:
    total = 0
    for file in dist.files or []:
        if "__pycache__" in file.parts or file.suffix == ".pyc":
            continue
        path = Path(str(dist.locate_file(file)))
        if file.size is not None:
            total += file.size
        elif path.is_file():
            total += path.stat().st_size
    return total + _editable_sources(dist)


def from_metadata(roots: list[str]) -> Footprint:
    dists = closure(roots)
    return Footprint(
        sum(dist_size(d) for d in dists.values()),
        sorted(f"{d.metadata['Name']}-{d.version}" for d in dists.values()),
    )
