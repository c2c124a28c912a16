"""python -m arielml.bench.tflm_vectors: TFLite Micro's test-vector layout (NAME.tflite with
NAME_input<k>_<dtype>.csv and NAME_golden_<dtype>.csv). Vectors made here by TFLite Micro's own
interpreter for an int16 SUB with broadcasting (the case its seanet vectors cover) pass; a damaged
golden file fails."""
from __future__ import annotations

import numpy as np

from arielml.bench.tflm_vectors import main
from tests.tflite_builder import ModelBuilder


def _int16_sub(rng) -> bytes:
    b = ModelBuilder()
    x = b.tensor((1, 2, 12, 64), "int16", quant=(float(rng.uniform(5e-4, 2e-3)), 0))
    y = b.tensor((64,), "int16", quant=(float(rng.uniform(5e-6, 2e-5)), 0))
    z = b.tensor((1, 2, 12, 64), "int16", quant=(float(rng.uniform(4e-4, 1e-3)), 0))
    b.op("SUB", [x, y], [z], "SubOptions")
    return b.build([x, y], [z])


def _write(directory, name, model_bytes, inputs, golden):
    (directory / f"{name}.tflite").write_bytes(model_bytes)
    for k, array in enumerate(inputs):
        (directory / f"{name}_input{k}_int16.csv").write_text(",".join(map(str, array.ravel())))
    (directory / f"{name}_golden_int16.csv").write_text(",".join(map(str, golden.ravel())))


def test_vectors_made_by_tflite_micro_pass_and_a_wrong_golden_fails(tmp_path, capsys):
    from tflite_micro.python.tflite_micro import runtime
    rng = np.random.default_rng(3)
    for k in range(4):
        model_bytes = _int16_sub(rng)
        inputs = [rng.integers(-32768, 32768, (1, 2, 12, 64)).astype(np.int16),
                  rng.integers(-32768, 32768, (64,)).astype(np.int16)]
        micro = runtime.Interpreter.from_bytes(model_bytes, arena_size=1 << 20)
        for i, array in enumerate(inputs):
            micro.set_input(array, i)
        micro.invoke()
        _write(tmp_path, f"sub{k}", model_bytes, inputs, micro.get_output(0))
    assert main([str(tmp_path), "--json"]) == 0
    golden = tmp_path / "sub0_golden_int16.csv"
    values = golden.read_text().split(",")
    values[5] = str((int(values[5]) + 1) % 32768)
    golden.write_text(",".join(values))
    assert main([str(tmp_path), "--json"]) == 1
    assert '"differs"' in capsys.readouterr().out
