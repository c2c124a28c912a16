"""The Plan: everything the runtime needs, decided at compile time, as frozen dataclasses.

A Plan starts as the lowered graph (one `Step` per node) and the passes of `pipeline.py` fill it in:
which tensors share bytes (views, in-place), where every buffer lives in the arena, how each
operator splits into tiles and (static scheduler) which core runs each tile. Every backend that
executes C (native, emulator) and the code generator read the same Plan."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arielml.errors import TargetError
from arielml.ir import Graph
from arielml.ops.registry import LITERT, Semantics

SCHEDULERS = ("static", "dynamic")
PLANNERS = ("greedy", "linear")
# "auto": copy the hottest weights from flash to SRAM where the board's flash is slower and RAM is
# left (passes/weight_placement.py); "off": every constant stays in flash
WEIGHTS_IN_SRAM = ("auto", "off")
# "latency": the layer-by-layer plan; "memory": also band execution and in-place depthwise where
# they lower the arena (passes/bands.py, passes/inplace_depthwise.py)
OPTIMIZE = ("latency", "memory")
NOT_IN_ARENA = -1  # offset of a tensor without arena bytes (constants, absent optional inputs)


@dataclass(frozen=True)
class CompileOptions:
    target: str = "host"
    cores: int = 1
    scheduler: str = "static"  # "static": tiles assigned to cores ahead of time; "dynamic": pulled at run time
    semantics: Semantics = LITERT
    alignment: int = 8  # bytes; every arena buffer starts on a multiple of this
    planner: str = "greedy"  # "greedy" (largest first, first fit) or "linear" (no reuse; the test oracle)
    name: str = "model"  # C symbol prefix of the generated library
    # False: plan operators without a C kernel too (memory and tiling analysis only; no codegen)
    kernels_required: bool = True
    weights_in_sram: str = "auto"  # one of WEIGHTS_IN_SRAM
    optimize: str = "latency"  # one of OPTIMIZE
    # RAM the plan may take (passes/weight_placement.plan_ram_bytes + weight copies); None: the board's
    ram_budget: int | None = None

    def __post_init__(self) -> None:
        if self.ram_budget is not None and (isinstance(self.ram_budget, bool) or not isinstance(self.ram_budget, int)
                                            or self.ram_budget <= 0):
            raise TargetError(f"ram_budget must be a positive number of bytes, got {self.ram_budget!r}")
        if self.optimize not in OPTIMIZE:
            raise TargetError(f"unknown optimize '{self.optimize}'; choose one of: {', '.join(OPTIMIZE)} (latency: "
                              f"the fastest plan; memory: the smallest arena, by band execution and in-place "
                              f"depthwise convolutions)")
        if self.weights_in_sram not in WEIGHTS_IN_SRAM:
            raise TargetError(f"unknown weights_in_sram '{self.weights_in_sram}'; choose one of: "
                              f"{', '.join(WEIGHTS_IN_SRAM)} (auto copies the hottest weights to SRAM when the "
                              f"board's flash is slower and RAM is left; off keeps them all in flash)")
        if self.scheduler not in SCHEDULERS:
            raise TargetError(f"unknown scheduler '{self.scheduler}'; choose one of: {', '.join(SCHEDULERS)}")
        if self.planner not in PLANNERS:
            raise TargetError(f"unknown memory planner '{self.planner}'; choose one of: {', '.join(PLANNERS)}")
        if self.alignment < 1 or self.alignment & (self.alignment - 1):
            raise TargetError(f"alignment must be a power of two, got {self.alignment}")
        if not self.name.isidentifier():
            raise TargetError(f"model name '{self.name}' must be a C identifier")


@dataclass(frozen=True)
class Step:
    """One graph node as the runtime executes it.

    `call` is the C lowering (an `arielml.codegen.kernel_call.KernelCall`), None for a view.
    Work items are the op's independent units of output; `tiles` are [begin, end) ranges of them
    (one tile = one scheduler grab); `tile_core[t]` is the core of tile t under the static scheduler.
    `after` lists the steps whose outputs this one reads: the dependency graph a future
    branch-parallel scheduler would use (see docs/runtime.md)."""

    node: int  # position in graph.nodes
    op: str
    params: Any  # the op's prepared (compile-time) parameters
    call: Any = None  # KernelCall; None for a view (or an op without kernel in analysis-only plans)
    view: bool = False  # output shares the input's bytes; nothing runs
    work_items: int = 1
    item_macs: float = 0.0  # cost model input: MACs of one work item
    item_elements: float = 0.0  # cost model input: output elements of one work item
    reads: tuple[int, ...] = ()  # non-constant tensors read
    writes: tuple[int, ...] = ()
    after: tuple[int, ...] = ()
    scratch_bytes: int = 0  # per core
    tiles: tuple[tuple[int, int], ...] = ()
    tile_core: tuple[int, ...] = ()
    barrier_after: bool = True
    # the cost model's estimate of the op's wall time on the plan's cores (barrier included): what
    # `compile --json` reports for targets that cannot be emulated here (esp32s3)
    estimated_seconds: float = 0.0

    @property
    def is_view(self) -> bool:
        return self.view


@dataclass(frozen=True)
class WeightCopy:
    """A constant array the start-up copies from flash to SRAM (emitted as initialised data, not
    const): a graph constant (`tensor`, emitted in <name>_weights.c) or an array of a kernel's
    params (`op`, its position in Plan.kernel_steps, and the params `field`, emitted in <name>.c)."""

    tensor: int  # graph constant (root tensor), or NO_TENSOR for a params array
    op: int  # kernel step that reads it (the first one, for a tensor shared by several)
    field: str  # params field name; "" for a graph constant
    nbytes: int  # SRAM bytes of one copy
    reads: float  # estimated reads of each element per inference
    saved_cycles: float  # estimated flash-wait cycles per inference it saves on one core
    label: str  # what the reports print, e.g. "tensor 12 (CONV_2D)" or "op 3 DEPTHWISE_CONV_2D .packed_weights"


@dataclass(frozen=True)
class WeightPlacement:
    """Which constant arrays live in SRAM (`copies`); everything else stays in flash."""

    mode: str  # the option asked for: "auto" or "off"
    reason: str  # one line for the reports: what was done, or why nothing
    budget_bytes: int = 0  # SRAM the copies could take (all images together)
    images: int = 1  # firmware images, each with its own copy
    copies: tuple[WeightCopy, ...] = ()

    @property
    def sram_bytes(self) -> int:
        """SRAM the copies take, all images together."""
        return sum(c.nbytes for c in self.copies) * self.images

    def in_sram(self, tensor: int = -1, op: int = -1, field: str = "") -> bool:
        if tensor >= 0:
            return any(c.tensor == tensor for c in self.copies)
        return any(c.op == op and c.field == field and c.tensor < 0 for c in self.copies)

    def to_json(self) -> dict:
        return {"mode": self.mode, "reason": self.reason, "budget_bytes": self.budget_bytes, "images": self.images,
                "sram_bytes": self.sram_bytes,
                "copies": [{"what": c.label, "tensor": None if c.tensor < 0 else c.tensor, "op": c.op,
                            "field": c.field or None, "bytes": c.nbytes, "reads_per_inference": round(c.reads, 1),
                            "estimated_cycles_saved": int(c.saved_cycles)} for c in self.copies]}


@dataclass(frozen=True)
class Plan:
    graph: Graph
    options: CompileOptions
    steps: tuple[Step, ...] = ()
    # per tensor: the tensor whose bytes it shares (itself when it owns its bytes)
    alias: tuple[int, ...] = ()
    # per tensor: where its bytes start inside its root's, in bytes (empty: all 0). Plain views and
    # in-place outputs start at 0; the rows of a band (passes/bands.py) start further in
    alias_offset: tuple[int, ...] = ()
    # per tensor: arena offset of its bytes, NOT_IN_ARENA for constants; empty before memory planning
    offsets: tuple[int, ...] = ()
    # per step: arena offset of its per-core scratch block (cores x scratch_bytes), NOT_IN_ARENA if none
    scratch_offsets: tuple[int, ...] = ()
    arena_bytes: int = 0
    notes: tuple[str, ...] = field(default=())  # decisions worth telling the user (aliases made, ...)
    # constant arrays copied from flash to SRAM at start-up (passes/weight_placement.py); None before
    weight_placement: WeightPlacement | None = None
    # the model's multiply-accumulates, layer by layer (what macs_executed is compared with)
    model_macs: int = 0
    # (a, b, delta): tensor b's bytes start delta bytes after tensor a's, overlapping where b's
    # writer only overwrites bytes of a that no later read needs (passes/bands.py)
    ties: tuple[tuple[int, int, int], ...] = ()
    # (variable tensor, offset) in the state block, which persists across invocations (memory_plan)
    state_offsets: tuple[tuple[int, int], ...] = ()

    def root(self, tensor: int) -> int:
        """The tensor that owns the bytes of `tensor` (follows view and in-place aliases)."""
        while self.alias and self.alias[tensor] != tensor:
            tensor = self.alias[tensor]
        return tensor

    def offset_in_root(self, tensor: int) -> int:
        """Bytes from the start of the root's buffer to `tensor`'s first byte."""
        return self.alias_offset[tensor] if self.alias_offset else 0

    @property
    def state_bytes(self) -> int:
        """Bytes of the state block (0 for a stateless model)."""
        return max((off + self.graph.tensors[t].nbytes for t, off in self.state_offsets), default=0)

    @property
    def estimated_seconds(self) -> float:
        """The cost model's latency estimate: the steps' estimates one after the other (views: 0)."""
        return sum(s.estimated_seconds for s in self.steps)

    @property
    def macs_executed(self) -> int:
        """Multiply-accumulates the plan's kernels execute (a recomputed halo would count here)."""
        return int(round(sum(s.item_macs * s.work_items for s in self.steps)))

    @property
    def kernel_steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if not s.is_view)
