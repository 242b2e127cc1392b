"""CI tells the truth: unexpected skips fail it, a missing browser part fails its set-up, and
installing the package prints no setuptools warnings."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pytest(tmp_path, source, **env):
    (tmp_path / "test_sample.py").write_text(source)
    # The project's own pytest_configure, as the real suite loads it.
    conftest = f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom tests.conftest import pytest_configure  # noqa: F401\n"
    (tmp_path / "conftest.py").write_text(conftest)
    environment = {k: v for k, v in os.environ.items() if k not in ("CI", "AGORA_STRICT_SKIPS")}
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_sample.py"],
                          cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120)


SAMPLE = '''
import pytest

def test_runs():
    assert True

def test_browser_missing():
    pytest.skip("Debian's chromium is not installed")

@pytest.mark.skipif(True, reason="PostgreSQL run only (make test-postgres)")
def test_on_postgres():
    pass
'''


def test_an_unexpected_skip_fails_ci_but_not_a_developer_run(tmp_path):
    relaxed = _pytest(tmp_path, SAMPLE)
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    strict = _pytest(tmp_path, SAMPLE, CI="true")
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert "test_browser_missing: Debian's chromium is not installed" in strict.stdout
    assert "test_on_postgres" not in strict.stdout.split("unexpected skips")[-1]


def test_allowed_skips_alone_pass_ci(tmp_path):
    source = SAMPLE.replace('pytest.skip("Debian', 'pass  # ("Debian')
    result = _pytest(tmp_path, source, CI="true")
    assert result.returncode == 0, result.stdout + result.stderr


def test_browser_setup_fails_under_ci_when_axe_cannot_be_installed(tmp_path):
    script = tmp_path / "e2e" / "setup.sh"
    script.parent.mkdir()
    shutil.copy(ROOT / "tests" / "e2e" / "setup.sh", script)
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    (fakebin / "npm").write_text("#!/bin/sh\nexit 1\n")
    (fakebin / "npm").chmod(0o755)
    (fakebin / "chromium").write_text("#!/bin/sh\nexit 0\n")
    (fakebin / "chromium").chmod(0o755)
    env = {"PATH": f"{fakebin}:/usr/bin:/bin", "HOME": str(tmp_path)}
    ci = subprocess.run(["bash", str(script)], env={**env, "CI": "true"}, capture_output=True, text=True, timeout=60)
    assert ci.returncode == 1
    assert "axe-core could not be vendored" in ci.stderr
    local = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert local.returncode == 0
    assert "will be skipped" in local.stderr
    assert not (script.parent / "vendor" / "axe.min.js").exists()


def test_building_the_package_prints_no_setuptools_warning(tmp_path):
    shutil.copytree(ROOT, tmp_path / "src", ignore=shutil.ignore_patterns(
        ".git", ".venv", "instance", "artifacts", "node_modules", "__pycache__", "*.egg-info", "build", "tests"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v", "-w", str(tmp_path / "dist"), "."],
        cwd=tmp_path / "src", capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout + result.stderr
    assert "is absent from the `packages` configuration" not in output
    assert "SetuptoolsDeprecationWarning" not in output
    wheel = next((tmp_path / "dist").glob("agora-*.whl"))
    import zipfile
    names = zipfile.ZipFile(wheel).namelist()
    assert "forum/static/agora.css" in names and "search/glossary.tsv" in names
