"""`arielml bench --backend native` on the smallest zoo model: every engine measured, every column in the
table and in the markdown, the markdown section replaced in place, missing oracles said clearly."""
import json
import sys

import pytest

from arielml.bench.host import RATIOS, SECTION_BEGIN, SECTION_END, VARIANTS, machine_description, update_markdown
from arielml.cli import EXIT_USER_ERROR, main
from tests.conftest import ZOO

HELLO = ZOO / "tflite_micro" / "hello_world_int8.tflite"
FAST = ("--repeat", "1", "--min-sample-ms", "0.2")  # one quick sample per engine


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _markdown_rows(text: str, first_header: str) -> tuple[list[str], list[list[str]]]:
    """The header and body cells of the markdown table whose first header cell is `first_header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |")
                 and ("TFLM" in line))
    cells = [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[start:]
             if line.startswith("|")]
    body = []
    for row in cells[2:]:
        if len(row) != len(cells[0]):
            break
        body.append(row)
    return cells[0], body


def test_bench_hello_world_measures_every_engine_and_writes_markdown(capsys, tmp_path):
    pytest.importorskip("ai_edge_litert")
    pytest.importorskip("tflite_micro")
    doc_path = tmp_path / "benchmarks.md"
    doc_path.write_text("# Benchmarks\n\nhand-written intro\n")
    code, out, err = cli(capsys, "bench", "--backend", "native", "--models", HELLO, *FAST, "--write", doc_path,
                         "--json")
    assert code == 0, err
    doc = json.loads(out)
    (row,) = doc["models"]
    assert row["model"] == "tflite_micro/hello_world_int8.tflite" and row["kind"] == "int8"
    assert doc["oracles_missing"] == [] and row["notes"] == []
    for variant in VARIANTS:  # every engine ran: a positive median, well under a second for 288 MACs
        assert 0 < row["ms"][variant.key] < 1000, (variant.key, row)
    assert all(row["ratios"][key] > 0 for key, *_ in RATIOS)
    assert row["check"] == "bit-exact" and row["arena_bytes"] == 32 and row["tflm_arena_bytes"] > 0

    text = doc_path.read_text()
    assert text.startswith("# Benchmarks\n\nhand-written intro\n") and text.count(SECTION_BEGIN) == 1
    assert f"- machine: {machine_description().split(', load average')[0]}" in text  # CPU model, cores
    assert "median of 1" in text and "noisy" in text and "arielml bench --backend native" in text
    header, body = _markdown_rows(text, "model")
    assert header == ["model", "type", *[v.label for v in VARIANTS]]
    assert body[0][0] == "hello_world_int8" and "n/a" not in body[0]
    header, body = _markdown_rows(text.split("### Ratios")[1], "model")
    assert header[1:1 + len(RATIOS)] == [h for *_, h in RATIOS] and "TFLM arena B" in header
    assert "n/a" not in body[0] and body[0][header.index("arena B")] == "32"

    # a second run replaces the section instead of appending one
    code, out, err = cli(capsys, "bench", "--models", "hello_world_int8", *FAST, "--write", doc_path)
    assert code == 0, err
    assert doc_path.read_text().count(SECTION_BEGIN) == 1 and "hand-written intro" in doc_path.read_text()
    for title in ("host latency", "ratios"):
        assert title in out
    for word in ("arielml", "LiteRT", "TFLM", "hello_world_int8", "arena B", "2T/1T"):
        assert word in out


def test_bench_says_when_the_oracles_are_not_installed(capsys, monkeypatch):
    for name in [m for m in sys.modules if m.split(".")[0] in ("ai_edge_litert", "tflite_micro")] + \
            ["ai_edge_litert", "tflite_micro"]:
        monkeypatch.setitem(sys.modules, name, None)  # import now fails as if not installed
    code, out, err = cli(capsys, "bench", "--models", HELLO, *FAST, "--json")
    assert code == 0, err
    assert "ai-edge-litert, tflite-micro not installed" in " ".join(err.split())
    (row,) = json.loads(out)["models"]
    assert row["ms"]["litert_1t"] is None and row["ms"]["tflm"] is None and row["check"] == "n/a"
    assert any("ai-edge-litert is not installed" in n for n in row["notes"])


def test_bench_refuses_unknown_backend_and_model(capsys):
    code, _, err = cli(capsys, "bench", "--backend", "emulator-9000", "--models", HELLO)
    assert code == EXIT_USER_ERROR and "unknown bench backend" in err
    code, _, err = cli(capsys, "bench", "--models", "no_such_model")
    assert code == EXIT_USER_ERROR and "no_such_model" in err and len(err.strip().splitlines()) == 1


def test_update_markdown_replaces_only_its_section(tmp_path):
    path = tmp_path / "b.md"
    update_markdown(path, f"{SECTION_BEGIN}\nfirst\n{SECTION_END}\n")
    path.write_text(path.read_text() + "\n## Emulator\n\nkept\n")
    update_markdown(path, f"{SECTION_BEGIN}\nsecond\n{SECTION_END}\n")
    text = path.read_text()
    assert "second" in text and "first" not in text and text.endswith("## Emulator\n\nkept\n")
    assert text.count(SECTION_BEGIN) == text.count(SECTION_END) == 1
