"""Per-core-type cycle models: the static cost of one translated block, computed once per block with
capstone and then charged by the C block hook every time the block runs (see cycle_hook.c).

A block's description is: cycles if its final branch falls through (or the branch is unconditional),
extra cycles if its final conditional branch is taken (decided exactly at run time by the hook),
instruction count, and flags (conditional branch at the end, contains SEV, ends with WFE).
Sources and approximations: docs/cycle-model.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import capstone
from capstone import arm_const, riscv_const

from arielml.emu.fasthook import (FLAG_BACKWARD, FLAG_COND_BRANCH, FLAG_FIRST32, FLAG_LAST32, FLAG_SEV, FLAG_WAIT_HINT,
                                  FLAG_WFE_END)


@dataclass(frozen=True)
class BlockCost:
    cycles: int  # branch not taken / unconditional
    taken_extra: int  # added when the final conditional branch is taken
    insns: int
    flags: int

    def pack(self) -> int:
        return (min(self.cycles, 0xFFFFFF) | (self.insns & 0xFFFF) << 24 | (min(self.taken_extra, 0xFF) << 40)
                | (self.flags & 0xFF) << 48)


@dataclass(frozen=True)
class ArmTiming:
    """Cycle costs of one Cortex-M core (see docs/cycle-model.md for the sources)."""

    name: str
    alu: float = 1
    mul: float = 1
    mul_long: float = 1  # UMULL/SMULL/UMLAL/SMLAL
    mls: float = 2
    div: float = 7  # SDIV/UDIV: 2..12 data-dependent, the middle is charged
    load: float = 2
    store: float = 2
    pipelined_access: float | None = 1  # a single load/store right after another one (None: no pipelining)
    multiple_base: float = 1  # LDM/STM/PUSH/POP: base + per_register * N
    per_register: float = 1
    refill: float = 2  # pipeline refill after a taken branch (P in the TRMs)
    indirect_extra: float = 0  # more refill when the target comes from a register or memory (BX, POP/LDR PC)
    misaligned_target: int = 0  # more refill when the target is a 32-bit instruction not word-aligned (in C)
    branch_base: float = 1  # B/BL/BX = branch_base + refill
    bl_extra: float = 0  # BL costs more on the M0+
    barrier: float = 2  # DMB/DSB/ISB
    system: float = 2  # MRS/MSR/CPS
    dsp: float = 1  # SMLAD and the other DSP multiplies
    fp_simple: float = 1  # VADD/VSUB/VMUL/VCVT/VMOV/VABS/VNEG/VCMP
    fp_mac: float = 3  # VMLA/VMLS/VFMA/VFMS
    fp_div: float = 14  # VDIV/VSQRT
    fp_load: float = 2
    load_use_stall: float = 0  # a load whose result the next instruction reads (3-stage M33 pipeline)


M0PLUS = ArmTiming("cortex-m0plus", div=0, pipelined_access=None, refill=1, bl_extra=1, barrier=3, system=3,
                   dsp=1)
# M4: P = 1-3 (TRM 3.3.1): 1 when the target address is known early (direct branches) and its first
# instruction is fetched whole, +1 for a 32-bit target instruction at an address = 2 mod 4 (two
# fetches), +1 for a target that comes from a register or memory (not speculated early)
M4F = ArmTiming("cortex-m4f", refill=1, indirect_extra=1, misaligned_target=1)
# M33: a new 3-stage pipeline, not the M4's: branches resolve in stage 2 (P = 1), and load/store
# addresses are formed in stage 2, so a load or store takes one cycle where the M3/M4 take two; the
# data arrives in stage 3, a cycle after the next instruction's ALU stage wants it (load-use stall).
# Its dual issue of 16-bit pairs is not modelled (no public rules). docs/cycle-model.md.
M33 = ArmTiming("cortex-m33", load=1, store=1, pipelined_access=None, load_use_stall=1, refill=1, div=6)
# The Cortex-M7 has its own classifier (cyclemodel_m7.py).

ARM_TIMINGS = {t.name: t for t in (M0PLUS, M4F, M33)}

_COND_BRANCHES = {"cbz", "cbnz"}
_BRANCHES = {"b", "bl", "bx", "blx", "cbz", "cbnz", "tbb", "tbh"}
_LOADS = {"ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrex", "ldrexb", "ldrexh", "ldrt", "ldrbt", "ldrht"}
_STORES = {"str", "strb", "strh", "strex", "strexb", "strexh", "strt"}
_DSP_PREFIXES = ("smla", "smls", "smua", "smus", "smul", "smmul", "smmla", "smmls", "usad", "smlsd")
_FP_DIV = {"vdiv", "vsqrt"}
_FP_MAC = {"vmla", "vmls", "vfma", "vfms", "vnmla", "vnmls", "vfnma", "vfnms"}


def _base_mnemonic(insn) -> str:
    name = insn.mnemonic.split(".")[0]
    return name


def _strip_condition(name: str, cc: int) -> str:
    if cc not in (arm_const.ARM_CC_AL, arm_const.ARM_CC_INVALID) and len(name) > 2:
        return name[:-2]
    return name


def _writes_pc(insn) -> bool:
    return any(op.type == arm_const.ARM_OP_REG and op.reg == arm_const.ARM_REG_PC for op in insn.operands)


def _arm_insn_cost(insn, timing: ArmTiming, previous_was_access: bool) -> tuple[float, bool]:
    """(cycles, is a single load/store) for one instruction, its final branch assumed not taken
    (a conditional branch) or taken (unconditional)."""
    name = _strip_condition(_base_mnemonic(insn), insn.cc)
    branch_cost = timing.branch_base + timing.refill
    if name in _BRANCHES:
        conditional = name in _COND_BRANCHES or insn.cc not in (arm_const.ARM_CC_AL, arm_const.ARM_CC_INVALID)
        if conditional:
            return timing.branch_base, False
        extra = timing.bl_extra if name in ("bl", "blx") else 0
        if name in ("tbb", "tbh"):
            extra += 1
        if name in ("bx", "blx", "tbb", "tbh") and not any(op.type == arm_const.ARM_OP_IMM for op in insn.operands):
            extra += timing.indirect_extra
        return branch_cost + extra, False
    if name in ("pop", "ldm", "ldmia", "ldmfd", "ldmdb", "stm", "stmia", "stmea", "stmdb", "push",
                "vpush", "vpop", "vldmia", "vstmia", "vldmdb", "vstmdb", "vldm", "vstm"):
        registers = sum(1 for op in insn.operands if op.type == arm_const.ARM_OP_REG) - (0 if name in ("pop", "push", "vpush", "vpop") else 1)
        cost = timing.multiple_base + timing.per_register * max(registers, 1)
        if name in ("pop", "ldm", "ldmia", "ldmfd") and _writes_pc(insn):
            cost += timing.refill + timing.indirect_extra + (1 if timing.name == "cortex-m0plus" else 0)
        return cost, False
    if name in ("ldrd", "strd"):
        return timing.multiple_base + 2 * timing.per_register, False
    if name in _LOADS or name in _STORES:
        if name in _LOADS and _writes_pc(insn) and insn.operands[0].reg == arm_const.ARM_REG_PC:
            return timing.load + timing.refill + timing.indirect_extra, False
        if previous_was_access and timing.pipelined_access is not None:
            return timing.pipelined_access, True
        return (timing.load if name in _LOADS else timing.store), True
    if name in ("vldr", "vstr"):
        return timing.fp_load, True
    if name in ("muls", "mul", "mla"):
        return timing.mul, False
    if name == "mls":
        return timing.mls, False
    if name in ("umull", "smull", "umlal", "smlal", "umaal"):
        return timing.mul_long, False
    if name in ("sdiv", "udiv"):
        return timing.div, False
    if name.startswith(_DSP_PREFIXES):
        return timing.dsp, False
    if name in ("dmb", "dsb", "isb"):
        return timing.barrier, False
    if name in ("mrs", "msr", "cpsid", "cpsie"):
        return timing.system, False
    if name in _FP_DIV:
        return timing.fp_div, False
    if name in _FP_MAC:
        return timing.fp_mac, False
    if name.startswith("v"):
        return timing.fp_simple, False
    if _writes_pc(insn) and insn.operands and insn.operands[0].reg == arm_const.ARM_REG_PC:
        return timing.alu + timing.branch_base + timing.refill + timing.indirect_extra - 1, False  # MOV/ADD pc
    return timing.alu, False


def _is_conditional_branch(insn) -> bool:
    name = _base_mnemonic(insn)
    if name in _COND_BRANCHES:
        return True
    cc = insn.cc
    if cc in (arm_const.ARM_CC_AL, arm_const.ARM_CC_INVALID):
        return False
    return _strip_condition(name, cc) in _BRANCHES or _writes_pc(insn)


def _loaded_register_read_next(insn, following) -> bool:
    """Is `insn` a load (LDR*, not into PC) whose destination `following` reads?"""
    name = _strip_condition(_base_mnemonic(insn), insn.cc)
    if name not in _LOADS and name not in ("vldr", "ldrd"):
        return False
    try:
        _, written = insn.regs_access()
        read, _ = following.regs_access()
    except capstone.CsError:
        return False
    loaded = {r for r in written if r not in (arm_const.ARM_REG_PC, arm_const.ARM_REG_SP)}
    # a post/pre-indexed load also writes its base register: that result is ready at once
    if insn.writeback:
        for op in insn.operands:
            if op.type == arm_const.ARM_OP_MEM:
                loaded.discard(op.mem.base)
    return bool(loaded & set(read))


def _is_literal_load(insn) -> bool:
    return any(op.type == arm_const.ARM_OP_MEM and op.mem.base == arm_const.ARM_REG_PC for op in insn.operands)


class ArmClassifier:
    """`literal_wait`: extra cycles of a PC-relative (literal pool) load from flash, charged statically
    when the block lies in `flash` (the literal pool sits next to the code)."""

    def __init__(self, timing: ArmTiming, literal_wait: int = 0, flash: tuple[int, int] = (0, 0)):
        self.timing = timing
        self.literal_wait = literal_wait
        self.flash = flash
        self.disassembler = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
        self.disassembler.detail = True

    def classify(self, code: bytes, address: int) -> BlockCost:
        timing = self.timing
        insns = list(self.disassembler.disasm(code, address))
        total, previous_access, flags = 0.0, False, 0
        in_flash = self.flash[0] <= address < self.flash[1]
        for index, insn in enumerate(insns):
            cost, is_access = _arm_insn_cost(insn, timing, previous_access)
            if in_flash and self.literal_wait and is_access and _is_literal_load(insn):
                cost += self.literal_wait
            if timing.load_use_stall and is_access and index + 1 < len(insns) and \
                    _loaded_register_read_next(insn, insns[index + 1]):
                cost += timing.load_use_stall
            total += cost
            previous_access = is_access
            name = _base_mnemonic(insn)
            if name == "sev":
                flags |= FLAG_SEV
        taken_extra = 0
        if insns:
            last = insns[-1]
            if _is_conditional_branch(last):
                flags |= FLAG_COND_BRANCH
                taken_extra = int(timing.refill)
            if _base_mnemonic(last) == "wfe":
                flags |= FLAG_WFE_END
            if insns[0].size == 4:
                flags |= FLAG_FIRST32
        return BlockCost(max(1, math.ceil(total)), taken_extra, len(insns), flags)


@dataclass(frozen=True)
class RiscvTiming:
    name: str = "hazard3"
    alu: int = 1
    load: int = 1
    load_use_stall: int = 1  # the next instruction reads the loaded register
    store: int = 1
    mul: int = 1  # MUL/MULH* (RP2350's Hazard3 has the fast multiplier)
    div: int = 18  # DIV/REM: iterative divider
    jump: int = 2  # JAL/JALR: one cycle of fetch bubble
    branch_mispredict_extra: int = 1  # branch: 1 cycle if predicted right, 2 if not (predictor in cycle_hook.c)


HAZARD3 = RiscvTiming()

_RV_LOADS = {"lb", "lh", "lw", "lbu", "lhu", "c.lw", "c.lwsp", "lr.w"}
_RV_STORES = {"sb", "sh", "sw", "c.sw", "c.swsp", "sc.w"}
_RV_BRANCHES = {"beq", "bne", "blt", "bge", "bltu", "bgeu", "c.beqz", "c.bnez", "beqz", "bnez", "blez", "bgez",
                "bltz", "bgtz", "bgt", "ble", "bgtu", "bleu"}
_RV_JUMPS = {"jal", "jalr", "j", "jr", "ret", "c.j", "c.jal", "c.jr", "c.jalr", "call", "tail"}


_H3_BLOCK = (0x00002033).to_bytes(4, "little")  # slt x0, x0, x0: Hazard3's wait-for-event hint
_H3_UNBLOCK = (0x00102033).to_bytes(4, "little")  # slt x0, x0, x1: Hazard3's send-event hint


class RiscvClassifier:
    def __init__(self, timing: RiscvTiming = HAZARD3):
        self.timing = timing
        self.disassembler = capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV32 | capstone.CS_MODE_RISCVC)
        self.disassembler.detail = True

    def classify(self, code: bytes, address: int) -> BlockCost:
        timing = self.timing
        insns = list(self.disassembler.disasm(code, address))
        total, flags = 0, 0
        for i, insn in enumerate(insns):
            name = insn.mnemonic
            if name in _RV_LOADS:
                cost = timing.load
                if i + 1 < len(insns) and insn.operands and _reads_register(insns[i + 1], insn.operands[0].reg):
                    cost += timing.load_use_stall
            elif name in _RV_STORES:
                cost = timing.store
            elif name.startswith(("div", "rem")):
                cost = timing.div
            elif name.startswith("mul"):
                cost = timing.mul
            elif name in _RV_JUMPS:
                cost = timing.jump
            elif name.startswith("amo"):
                cost = timing.load + timing.store
            else:
                cost = timing.alu
            if bytes(insn.bytes) == _H3_BLOCK:
                flags |= FLAG_WAIT_HINT
            elif bytes(insn.bytes) == _H3_UNBLOCK:
                flags |= FLAG_SEV
            total += cost
        taken_extra = 0
        if insns and insns[-1].mnemonic in _RV_BRANCHES:
            flags |= FLAG_COND_BRANCH
            taken_extra = timing.branch_mispredict_extra
        if insns and insns[-1].size == 4:
            flags |= FLAG_LAST32
        if insns and insns[0].size == 4:
            flags |= FLAG_FIRST32
        return BlockCost(max(1, total), taken_extra, len(insns), flags)


def _reads_register(insn, register: int) -> bool:
    """Does this RV32 instruction read `register`? (Destination first, except stores and branches.)"""
    if register == riscv_const.RISCV_REG_ZERO:
        return False
    operands = list(insn.operands)
    sources = operands if insn.mnemonic in _RV_STORES or insn.mnemonic in _RV_BRANCHES else operands[1:]
    for op in sources:
        if op.type == riscv_const.RISCV_OP_REG and op.reg == register:
            return True
        if op.type == riscv_const.RISCV_OP_MEM and op.mem.base == register:
            return True
    return False


def classifier_for(core_type_name: str, literal_wait: int = 0, flash: tuple[int, int] = (0, 0)):
    """The block classifier of a core type. `literal_wait` > 0: literal-pool loads in `flash` pay it
    statically (used when data reads from flash are not counted exactly by the memory hook)."""
    if core_type_name == "cortex-m7":
        from arielml.emu.cyclemodel_m7 import M7Classifier
        return M7Classifier(literal_wait, flash)
    if core_type_name in ARM_TIMINGS:
        return ArmClassifier(ARM_TIMINGS[core_type_name], literal_wait, flash)
    if core_type_name == "hazard3":
        return RiscvClassifier()
    raise ValueError(f"no cycle model for core type {core_type_name}")


def misaligned_target_cycles(core_type_name: str) -> int:
    """Extra cycles of a taken branch or jump whose target is a 32-bit instruction at an address = 2 mod 4
    (charged by the C hook): Hazard3 (its timing docs) and the Cortex-M4 (P = 1-3)."""
    if core_type_name == "hazard3":
        return 1
    timing = ARM_TIMINGS.get(core_type_name)
    return timing.misaligned_target if timing is not None else 0
