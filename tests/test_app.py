"""The application factory: every area is loaded, or start-up stops and names the area."""
import subprocess
import sys
from pathlib import Path

import pytest

from forum import AREAS

ROOT = Path(__file__).resolve().parent.parent

# A fresh interpreter, so that no module is cached from the test run. A None entry in
# sys.modules is how Python itself marks a module that cannot be imported.
START_WITHOUT = """
import sys
sys.modules[{area!r}] = None
from forum import create_app
create_app({{"TESTING": True, "INSTANCE_PATH": {instance!r}}})
print("started")
"""


# Three of the areas (each case starts Python afresh): the one whose absence would keep a
# deleted member's files, one the shared templates use, and the top-level search package.
@pytest.mark.parametrize("area", ["forum.attachments", "forum.moderation", "search"])
def test_start_up_fails_loudly_when_an_area_cannot_be_imported(tmp_path, area):
    code = START_WITHOUT.format(area=area, instance=str(tmp_path / "instance"))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "started" not in result.stdout
    assert f"RuntimeError: Agora could not load the area '{area}': import of {area} halted" in result.stderr
    # The original error stays in the traceback, as the cause.
    assert "ModuleNotFoundError" in result.stderr


def test_the_same_start_up_works_with_every_area(tmp_path):
    assert {"forum.attachments", "forum.moderation", "search"} <= set(AREAS)
    code = START_WITHOUT.replace("sys.modules[{area!r}] = None\n", "").format(instance=str(tmp_path / "instance"))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout
