"""Published single-core efficiency of the best toolkits on the core types arielml emulates, in
cycles per multiply-accumulate, for the benchmark tables. cycles/MAC = latency x clock / MACs, with
the MLPerf Tiny models' MACs: VWW 7.49 M, KWS 2.66 M, ResNet-8 (image classification) 12.5 M.

Sources:
- MLPerf Tiny inference results v1.0/v1.1 (mlcommons.org/benchmarks/inference-tiny; results tables
  at github.com/mlcommons/tiny_results_v1.0 and v1.1), closed division, ST's X-CUBE-AI on
  STM32U575 (Cortex-M33 with DSP), STM32H7A3 (Cortex-M7), STM32L4R5 (Cortex-M4F), and the entries
  on STM32G0B1 (Cortex-M0+);
- TinyEngine's README (github.com/mit-han-lab/tinyengine): MCUNet-VWW-10fps on an STM32H743 (M7).
No figures are published for the Hazard3."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PeerFigure:
    cycles_per_mac: float
    who: str  # toolkit and part


MLPERF_TINY = "MLPerf Tiny v1.x"
# core type -> model file stem -> published figure
PUBLISHED: dict[str, dict[str, PeerFigure]] = {
    "cortex-m33": {"vww_96_int8": PeerFigure(1.27, "X-CUBE-AI, STM32U575"),
                   "kws_ref_model": PeerFigure(1.74, "X-CUBE-AI, STM32U575"),
                   "pretrainedResnet_quant": PeerFigure(1.33, "X-CUBE-AI, STM32U575")},
    "cortex-m7": {"vww_96_int8": PeerFigure(0.89, "X-CUBE-AI, STM32H7A3"),
                  "kws_ref_model": PeerFigure(1.19, "X-CUBE-AI, STM32H7A3"),
                  "pretrainedResnet_quant": PeerFigure(0.91, "X-CUBE-AI, STM32H7A3"),
                  "mcunet-10fps_vww": PeerFigure(2.16, "TinyEngine, STM32H743")},
    "cortex-m4f": {"vww_96_int8": PeerFigure(1.42, "X-CUBE-AI, STM32L4R5"),
                   "kws_ref_model": PeerFigure(1.95, "X-CUBE-AI, STM32L4R5"),
                   "pretrainedResnet_quant": PeerFigure(1.59, "X-CUBE-AI, STM32L4R5")},
    "cortex-m0plus": {"vww_96_int8": PeerFigure(12.1, "STM32G0B1"),
                      "kws_ref_model": PeerFigure(11.4, "STM32G0B1"),
                      "pretrainedResnet_quant": PeerFigure(7.8, "STM32G0B1")},
}


def published(core_type: str, model: str) -> PeerFigure | None:
    return PUBLISHED.get(core_type, {}).get(model)
