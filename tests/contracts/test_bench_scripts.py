"""Every benchmark script still imports: they run rarely, so a rename elsewhere must not break them unseen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run as files, each script has its own folder on sys.path (and the project's root, for `tests` and
# `bench`); one interpreter loads them all under distinct names.
LOADER = """
import importlib.util, sys, traceback
failed = []
for number, path in enumerate(sys.argv[1:]):
    folder = path.rsplit("/", 1)[0]
    sys.path.insert(0, folder)
    name = f"bench_script_{number}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception:
        failed.append(path + ":\\n" + traceback.format_exc(limit=-2))
    finally:
        sys.path.remove(folder)
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_bench_script_imports() -> None:
    scripts = sorted(str(p) for p in (ROOT / "bench").rglob("*.py") if p.name != "__init__.py")
    assert len(scripts) > 10
    env_path = f"{ROOT}:{ROOT / 'src'}"
    result = subprocess.run(
        [sys.executable, "-c", LOADER, *scripts],
        cwd=ROOT,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
