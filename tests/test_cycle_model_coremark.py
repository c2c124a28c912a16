"""python -m arielml.emu.coremark: argument checking and the table of published results (a CoreMark run
itself needs a CoreMark source tree, which is not part of the repository: docs/cycle-model.md)."""
from __future__ import annotations

import pytest

from arielml.emu.coremark import DEFAULT_TARGETS, PUBLISHED, main, run_coremark
from arielml.errors import TargetError
from arielml.targets.boards import get_board


def test_a_directory_that_is_not_coremark_is_refused_with_a_clear_message(tmp_path):
    with pytest.raises(TargetError, match="not a CoreMark source tree"):
        run_coremark(tmp_path, "rp2040")


def test_the_command_reports_the_error_without_a_traceback(tmp_path, capsys):
    assert main([str(tmp_path), "--target", "rp2040"]) == 1
    assert "not a CoreMark source tree" in capsys.readouterr().err


def test_every_default_target_has_a_published_figure_with_its_source():
    for board in DEFAULT_TARGETS:
        core_type = get_board(board).core(0)[0].name
        entries = [p for p in PUBLISHED if p.core_type == core_type]
        assert entries, core_type
        for published in entries:
            assert published.coremark_per_mhz > 0
            assert "github.com" in published.source
            assert published.flags.startswith("-O")
