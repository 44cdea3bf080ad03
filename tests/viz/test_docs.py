"""docs/bptt.md: every ```python block runs as written; the figure script is current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "bptt.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_page_has_code_and_its_pictures_exist() -> None:
    assert len(BLOCKS) >= 4
    for name in re.findall(r"\]\((img/[^)]+\.svg)\)", DOC.read_text(encoding="utf-8")):
        assert (DOC.parent / name).is_file(), name


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_python_block_runs(index: int, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"{DOC.name} block {index}", "exec"), {"__name__": "__doc__"})
