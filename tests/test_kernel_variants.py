"""ISA-specific kernels: how an image's sources are chosen (kernels/<dir>/<file>.c in place of the
portable kernels/<file>.c, per core type), pure Python."""
from pathlib import Path

from arielml.codegen.library import image_sources
from arielml.targets.boards import BOARDS, CORTEX_M0PLUS, CORTEX_M33, CORTEX_M4F, CORTEX_M7, HAZARD3

SOURCES = ["model.c", "ariel/src/ariel_runtime.c", "ariel/kernels/conv_s8.c", "ariel/kernels/pool.c",
           "ariel/kernels/arm_dsp/conv_s8.c", "ariel/kernels/rv32/conv_s8.c", "ariel/kernels/rv32/pool.c"]


def test_a_core_type_compiles_its_own_variant_in_place_of_the_portable_file():
    assert image_sources(SOURCES, CORTEX_M33) == ["model.c", "ariel/src/ariel_runtime.c",
                                                  "ariel/kernels/arm_dsp/conv_s8.c", "ariel/kernels/pool.c"]
    assert image_sources(SOURCES, HAZARD3) == ["model.c", "ariel/src/ariel_runtime.c",
                                               "ariel/kernels/rv32/conv_s8.c", "ariel/kernels/rv32/pool.c"]


def test_a_core_type_without_a_variant_keeps_the_portable_file_and_drops_the_others():
    assert image_sources(SOURCES, CORTEX_M0PLUS) == ["model.c", "ariel/src/ariel_runtime.c",
                                                     "ariel/kernels/conv_s8.c", "ariel/kernels/pool.c"]


def test_absolute_paths_come_back_as_paths():
    root = Path("/tmp/x")
    chosen = image_sources([root / s for s in SOURCES], CORTEX_M4F)
    assert chosen[2] == root / "ariel/kernels/arm_dsp/conv_s8.c" and all(isinstance(p, Path) for p in chosen)


def test_every_variant_file_replaces_a_portable_kernel_of_the_same_name():
    kernels = Path(__file__).resolve().parent.parent / "arielml" / "runtime" / "kernels"
    dirs = {d for board in BOARDS.values() for core_type, _ in board.cores for d in core_type.kernel_dirs}
    assert {"arm_dsp", "armv6m", "rv32"} <= dirs and CORTEX_M7.kernel_dirs == ("arm_dsp",)
    for variant in kernels.glob("*/*.c"):
        assert variant.parent.name in dirs, variant
        assert (kernels / variant.name).is_file(), f"{variant} has no portable kernel of that name"
