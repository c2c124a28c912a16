"""Cortex-M7 block costs: an in-order dual-issue schedule of the block's instructions.

Arm publishes no per-instruction timing for the M7. The rules here come from public measurements
(docs/cycle-model.md lists them): Mark Owen's "Cortex-M7 instruction cycle counts, timings, and
dual-issue combinations" (quinapalus.com/cm7cycles.html, measured on an STM32H730) and later public
notes on its dual-issue restrictions. Within a block the classifier issues instructions in order,
at most two per cycle:

* a pair is two single-cycle instructions, the second not reading a register the first writes;
* at most one memory access per pair (two loads, a load and a store, two stores do not pair);
* at most one multiply / MAC per pair, and a multiply, MAC or other DSP instruction pairs only as
  the first (lower-address) instruction of a pair;
* at most one instruction with a shifted register operand, extend or bitfield operation per pair;
* a load's result is ready two cycles after it issues: an instruction that uses it right away
  waits one cycle (load-use stall); other results are ready the next cycle;
* LDM/STM/PUSH/POP move two registers per cycle (64-bit data path).

Branches: the final conditional branch is predicted in the C hook (2-bit counters per branch address;
first encounter: backward taken, forward not taken); a misprediction costs `mispredict` cycles. Direct
unconditional branches and calls are taken from the branch target cache at no extra cost; indirect
branches (BX, POP/LDR into PC, TBB/TBH) cost `indirect` extra. Scheduling does not carry across block
boundaries (a block's first instruction never waits for the previous block's loads)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import capstone
from capstone import arm_const

from arielml.emu.cyclemodel import (_DSP_PREFIXES, _FP_DIV, _FP_MAC, _LOADS, _STORES, BlockCost, _base_mnemonic,
                                    _is_conditional_branch, _is_literal_load, _strip_condition, _writes_pc)
from arielml.emu.fasthook import FLAG_BACKWARD, FLAG_COND_BRANCH, FLAG_LAST32, FLAG_SEV, FLAG_WFE_END


@dataclass(frozen=True)
class M7Timing:
    mispredict: int = 5  # conditional branch mispredicted (taken_extra, charged by the hook)
    indirect: int = 2  # BX/BLX reg, POP/LDM/LDR into PC, TBB/TBH, MOV/ADD PC
    load_ready: int = 2  # cycles from a load's issue until its result can be used
    div: int = 6  # SDIV/UDIV: 2..12 data-dependent, the middle is charged
    fp_div: int = 14
    barrier: int = 2


M7_TIMING = M7Timing()

_FLAG_REGS = {arm_const.ARM_REG_CPSR, arm_const.ARM_REG_APSR, arm_const.ARM_REG_APSR_NZCV,
              arm_const.ARM_REG_FPSCR, arm_const.ARM_REG_FPSCR_NZCV}
_MULTIPLE = {"pop", "push", "ldm", "ldmia", "ldmfd", "ldmdb", "stm", "stmia", "stmea", "stmdb", "vpush", "vpop",
             "vldmia", "vstmia", "vldmdb", "vstmdb", "vldm", "vstm"}
_MULTIPLIES = {"mul", "muls", "mla", "mls", "umull", "smull", "umlal", "smlal", "umaal"}
_SHIFTING = {"lsl", "lsls", "lsr", "lsrs", "asr", "asrs", "ror", "rors", "sxtb", "sxth", "uxtb", "uxth", "sxtab",
             "sxtah", "uxtab", "uxtah", "sxtb16", "uxtb16", "sxtab16", "uxtab16", "ubfx", "sbfx", "bfi", "bfc",
             "rev", "rev16", "revsh", "rbit", "clz"}
_INDIRECT = {"bx", "blx", "tbb", "tbh"}


@dataclass(frozen=True)
class _Op:
    cycles: int  # issue cycles (1 = may pair)
    memory: bool
    multiply: bool  # multiplier / DSP unit: pairs only as the first of a pair
    shifted: bool
    load: bool
    reads: frozenset
    writes: frozenset
    extra: int = 0  # cycles after issue that nothing can use (indirect branch refill)


def _op(insn, timing: M7Timing) -> _Op:
    name = _strip_condition(_base_mnemonic(insn), insn.cc)
    try:
        read, written = insn.regs_access()
    except capstone.CsError:
        read, written = (), ()
    reads = frozenset(r for r in read if r not in _FLAG_REGS)
    writes = frozenset(r for r in written if r not in _FLAG_REGS and r != arm_const.ARM_REG_PC)
    shifted = name in _SHIFTING or any(op.type == arm_const.ARM_OP_REG and op.shift.type != 0 for op in insn.operands)
    writes_pc = _writes_pc(insn) and insn.operands and (name in ("pop", "ldm", "ldmia", "ldmfd", "ldr", "mov", "add")
                                                        or name in _MULTIPLE)
    if name in _MULTIPLE:
        registers = sum(1 for op in insn.operands if op.type == arm_const.ARM_OP_REG) - \
            (0 if name in ("pop", "push", "vpush", "vpop") else 1)
        return _Op(max(1, math.ceil(max(registers, 1) / 2)), True, False, False, name.startswith(("pop", "ldm", "vpop", "vldm")),
                   reads, writes, timing.indirect if writes_pc else 0)
    if name in ("ldrd", "strd"):
        return _Op(1, True, False, False, name == "ldrd", reads, writes)
    if name in _LOADS or name in _STORES or name in ("vldr", "vstr"):
        is_load = name in _LOADS or name == "vldr"
        return _Op(1, True, False, shifted, is_load, reads, writes, timing.indirect if writes_pc else 0)
    if name in _INDIRECT:
        return _Op(1, name in ("tbb", "tbh"), False, False, False, reads, writes, timing.indirect)
    if name in ("sdiv", "udiv"):
        return _Op(timing.div, False, True, False, False, reads, writes)
    if name in _FP_DIV:
        return _Op(timing.fp_div, False, False, False, False, reads, writes)
    if name in ("dmb", "dsb", "isb"):
        return _Op(timing.barrier, False, False, False, False, reads, writes)
    multiply = name in _MULTIPLIES or name.startswith(_DSP_PREFIXES) or name in _FP_MAC
    if writes_pc:
        return _Op(1, False, False, False, False, reads, writes, timing.indirect)
    return _Op(1, False, multiply, shifted, False, reads, writes)


def _pairs(first: _Op, second: _Op) -> bool:
    return (first.cycles == 1 and second.cycles == 1 and not first.extra
            and not (first.memory and second.memory)
            and not second.multiply
            and not (first.shifted and second.shifted)
            and not (second.reads & first.writes))


class M7Classifier:
    def __init__(self, literal_wait: int = 0, flash: tuple[int, int] = (0, 0), timing: M7Timing = M7_TIMING):
        self.timing = timing
        self.literal_wait = literal_wait
        self.flash = flash
        self.disassembler = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
        self.disassembler.detail = True

    def classify(self, code: bytes, address: int) -> BlockCost:
        timing = self.timing
        insns = list(self.disassembler.disasm(code, address))
        in_flash = self.flash[0] <= address < self.flash[1]
        ready: dict[int, int] = {}  # register -> first cycle it can be read
        next_cycle = 0  # first cycle after everything issued so far
        previous: _Op | None = None
        previous_cycle = -1
        slot_free = False  # the previous instruction issued alone and may take a partner
        flags = 0
        for insn in insns:
            op = _op(insn, timing)
            earliest = max((ready.get(r, 0) for r in op.reads), default=0)
            if slot_free and previous is not None and earliest <= previous_cycle and _pairs(previous, op):
                issue = previous_cycle
                slot_free = False
            else:
                issue = max(next_cycle, earliest)
                next_cycle = issue + op.cycles + op.extra
                slot_free = op.cycles == 1 and not op.extra
            if in_flash and self.literal_wait and op.load and _is_literal_load(insn):
                next_cycle += self.literal_wait
            done = issue + (timing.load_ready if op.load else op.cycles)
            for register in op.writes:
                ready[register] = done
            previous, previous_cycle = op, issue
            if _base_mnemonic(insn) == "sev":
                flags |= FLAG_SEV
        taken_extra = 0
        if insns:
            last = insns[-1]
            if _is_conditional_branch(last):
                flags |= FLAG_COND_BRANCH
                taken_extra = timing.mispredict
                target = next((op.imm for op in last.operands if op.type == arm_const.ARM_OP_IMM), None)
                if target is not None and target <= last.address:
                    flags |= FLAG_BACKWARD
            if last.size == 4:
                flags |= FLAG_LAST32
            if _base_mnemonic(last) == "wfe":
                flags |= FLAG_WFE_END
        return BlockCost(max(1, next_cycle), taken_extra, len(insns), flags)
