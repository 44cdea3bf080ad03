"""``minigrad graph``: one picture per cell type."""

from __future__ import annotations

import pytest

from minigrad.cli.graph import CELLS, build_example, graph_command

from .helpers import DotGraph, requires_dot


@pytest.mark.parametrize("cell", CELLS)
def test_graph_command_writes_a_dot_file_for_each_cell(tmp_path, capsys, cell: str) -> None:
    out = tmp_path / f"{cell}.dot"
    assert graph_command(["--cell", cell, "--steps", "3", "--grad-norms", "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    g = DotGraph(out.read_text())
    assert sorted(g.step_clusters()) == [0, 1, 2]
    assert any(c["attrs"].get("fillcolor") for c in g.step_clusters().values())


@requires_dot
def test_graph_command_renders_svg(tmp_path) -> None:
    out = tmp_path / "lstm.svg"
    assert graph_command(["--cell", "lstm", "--steps", "4", "--hidden", "2", "-o", str(out)]) == 0
    assert "</svg>" in out.read_text()


def test_graph_command_rejects_unknown_extensions(tmp_path) -> None:
    with pytest.raises(SystemExit) as exc:
        graph_command(["--cell", "rnn", "-o", str(tmp_path / "x.gif")])
    assert exc.value.code == 2


def test_attention_example_names_the_attention_parameters() -> None:
    loss, params = build_example("attention", 2, hidden=4)
    assert "attn.in_proj_weight" in params and loss.shape == ()


def test_graph_command_uses_the_library_defaults_and_passes_detail(tmp_path) -> None:
    import minigrad as mg

    out = tmp_path / "lstm.dot"
    assert graph_command(["--cell", "lstm", "--steps", "30", "-o", str(out)]) == 0
    loss, params = build_example("lstm", 30)
    assert out.read_text() == mg.viz.to_dot(loss, params)  # the same picture as the API's
    assert "steps folded" in out.read_text()
    assert graph_command(["--cell", "lstm", "--steps", "30", "--detail", "modules",
                          "--focus-step", "11", "-o", str(out)]) == 0
    g = DotGraph(out.read_text())
    assert 11 in g.step_clusters()
    assert not any(g.nodes[n]["label"].startswith("Sigmoid") for n in g.nodes)
