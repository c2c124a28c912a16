"""The calibrated cost model (arielml/targets/calibration.py) against the emulator it was fitted on:
its per-op predictions for a real model (not one of the calibration micro-models), and the static
schedule it drives on cores of unequal speed."""
from __future__ import annotations

import numpy as np
import pytest

import arielml
from arielml.backends.emulator import run_emulated
from arielml.compile import plan_model
from arielml.schedule.calibrate import Sample, fit, nnls
from arielml.schedule.cost import cores_of, predict_op_cycles
from arielml.schedule.features import item_work
from arielml.targets.boards import get_board
from tests.conftest import ZOO
from tests.emu_helpers import needs_cross

KWS = ZOO / "mlcommons_tiny/kws_ref_model.tflite"


def test_nnls_recovers_known_costs_and_keeps_them_non_negative():
    samples = [Sample("X", (m, r, d, e), 3.0 * m + 20.0 * r + 5.0 * d + 7.0 * e + 150.0, 0.0)
               for m, r, d, e in [(100, 10, 0, 5), (1000, 4, 2, 50), (50, 50, 9, 50), (4000, 100, 0, 10),
                                  (10, 1, 1, 1), (300, 30, 30, 3)]]
    values, error = fit(samples)
    assert values == pytest.approx((3.0, 20.0, 5.0, 7.0, 150.0), rel=1e-6) and error < 1e-9
    a = np.array([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0]])
    x = nnls(a, np.array([3.0, 2.0, 1.0]))  # the unconstrained slope is negative
    assert x[1] == 0.0 and x[0] > 0


@pytest.mark.cross
@needs_cross
def test_predicted_op_cycles_of_kws_on_rp2040_match_the_emulator():
    model = arielml.load(KWS)
    run = run_emulated(model, model.random_inputs(0), "rp2040", 1)
    plan = plan_model(model, target="rp2040", cores=1)
    core = cores_of(get_board("rp2040"), 1)[0]
    graph = plan.graph
    predicted_total = 0.0
    misses = []
    for row in run.per_op:
        step = plan.kernel_steps[row["index"]]
        work = item_work(graph.nodes[step.node], graph, step.item_macs * step.work_items, step.work_items)
        predicted = predict_op_cycles(work, step.tiles, core)
        predicted_total += predicted
        if abs(predicted - row["cycles"]) > 0.25 * row["cycles"]:
            misses.append(f"op {row['index']} {row['type']}: predicted {predicted:.0f}, emulated {row['cycles']}")
    assert not misses, "; ".join(misses)
    assert abs(predicted_total - run.cycles) <= 0.10 * run.cycles, (predicted_total, run.cycles)


@pytest.mark.cross
@needs_cross
def test_static_is_at_least_as_good_as_dynamic_on_stm32h747():
    model = arielml.load(KWS)
    inputs = model.random_inputs(0)
    static = run_emulated(model, inputs, "stm32h747", 2, "static")
    dynamic = run_emulated(model, inputs, "stm32h747", 2, "dynamic")
    one = run_emulated(model, inputs, "stm32h747", 1)
    assert static.cycles <= dynamic.cycles * 1.02, (static.cycles, dynamic.cycles)
    assert static.cycles < one.cycles  # the M4 helps at all
    assert all((a == b).all() for a, b in zip(static.outputs, dynamic.outputs))
