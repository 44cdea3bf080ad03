"""The documentation's code runs, and the API reference matches the package.

Every ```python block of every ``docs/*.md`` runs, each file's blocks in order in one
namespace (so a page can build on its earlier blocks), in a fresh temporary working
folder. A block whose preceding non-blank line is ``<!-- no-run -->`` is skipped (for
snippets that need a GPU or show a deliberate error). ``docs/api.md`` must equal what
``docs/gen_api.py`` generates from the package now.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
NO_RUN = "<!-- no-run -->"


def code_blocks(text: str) -> list[tuple[int, str, bool]]:
    """``(line number, code, runs)`` for each ```python block of a Markdown text."""
    blocks = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = [ln.strip() for ln in text[: match.start()].splitlines() if ln.strip()]
        runs = not (before and before[-1] == NO_RUN)
        blocks.append((line, match.group(1), runs))
    return blocks


def test_code_blocks_are_found_and_no_run_is_honoured() -> None:
    text = "x\n```python\na = 1\n```\n\n<!-- no-run -->\n\n```python\nraise SystemExit\n```\n"
    assert code_blocks(text) == [(2, "a = 1\n", True), (8, "raise SystemExit\n", False)]


PAGES = sorted(DOCS.glob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_doc_page_code_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = [b for b in code_blocks(page.read_text(encoding="utf-8")) if b[2]]
    if not blocks:
        pytest.skip(f"{page.name} has no runnable python blocks")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    # Pages may switch the default dtype or device to show them off; the autouse fixture
    # in conftest.py puts them back after each test.
    for line, code, _ in blocks:
        compiled = compile(code, f"{page.name}:{line}", "exec")
        try:
            exec(compiled, namespace)  # noqa: S102 - running the docs is the point
        except Exception as exc:
            raise AssertionError(
                f"{page.name}: the python block at line {line} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc


def test_api_reference_is_generated_from_the_package() -> None:
    spec = importlib.util.spec_from_file_location("gen_api", DOCS / "gen_api.py")
    assert spec is not None and spec.loader is not None
    gen_api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_api)
    expected = gen_api.generate()
    current = (DOCS / "api.md").read_text(encoding="utf-8")
    assert current == expected, "docs/api.md is out of date: run `python docs/gen_api.py`"
