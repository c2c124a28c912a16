"""One emulated run (rp2040, two Cortex-M0+ cores) of a model holding every data-movement and
indexing operator of ops/rearrange.py, pack.py, gather.py and shape_values.py, with run-time
indices: bit-exact with the reference executor."""
from __future__ import annotations

import numpy as np

from arielml.backends.emulator import run_emulated
from tests.movement_cases import build_model
from tests.op_harness import model_for
from tests.test_ops_gather import embedding_spec, gather_nd_spec, gather_spec, update_spec
from tests.test_ops_pack import pack_spec, unpack_spec
from tests.test_ops_rearrange import (batch_space_spec, broadcast_to_spec, depth_spec, mirror_pad_spec,
                                      reverse_spec, slice_spec)
from tests.test_ops_shape_values import broadcast_args_spec, shape_spec
from tests.tflite_builder import run_litert


def test_movement_ops_emulated_rp2040_two_cores(tmp_path):
    seed = 9600
    rng = np.random.default_rng(seed)
    specs = [slice_spec(rng, "int8", (2, 9, 10, 6)), reverse_spec(rng, "int16"), mirror_pad_spec(rng, "int8", (1, 8, 8, 3)),
             broadcast_to_spec(rng, "float32"), depth_spec(rng, "int8", "SPACE_TO_DEPTH", (1, 8, 8, 3)),
             depth_spec(rng, "float32", "DEPTH_TO_SPACE", (1, 3, 4, 36)), batch_space_spec(rng, "int8", "BATCH_TO_SPACE_ND", 4),
             batch_space_spec(rng, "int8", "SPACE_TO_BATCH_ND", 4), pack_spec(rng, "int8", (4, 5), 10),
             unpack_spec(rng, "float32", (3, 4, 5)), gather_spec(rng, "int8", True, (3, 10, 8)),
             gather_nd_spec(rng, "float32", True, (6, 5, 4)), embedding_spec(rng, "int8", hybrid=True, runtime=True, per_row=True),
             embedding_spec(rng, "uint8", runtime=True), update_spec(rng, "int8", (6, 7, 5), "int64"),
             shape_spec(rng, "int8"), broadcast_args_spec(rng, "int32", runtime=True)]
    inputs = [a for s in specs for a in s.arrays]
    shapes = [o.shape for o in run_litert(build_model(specs), inputs)]
    model = model_for(build_model(specs, shapes))
    expected = model.run(inputs)
    run = run_emulated(model, inputs, "rp2040", cores=2, cache_dir=tmp_path)
    owners = [s for s in specs for _ in s.outputs]
    for got, want, spec in zip(run.outputs, expected, owners):
        assert got.dtype == want.dtype and got.shape == want.shape, spec.what
        assert np.array_equal(got, want), f"seed {seed} {spec.what}: {np.count_nonzero(got != want)} values differ"
