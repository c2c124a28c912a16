"""Rust-main firmware against the C harness firmware on the emulated boards: the same model, plan and
inputs; outputs compared byte for byte (and with the reference executor), flash, RAM and cycles.

    python -m arielml.rust.compare MODEL... --targets rp2040,rp2350-arm --cores 1,2 [--jsonl FILE]
    python -m arielml.rust.compare --table FILE.jsonl        # the markdown table of recorded rows

Used by `arielml bench --firmware rust` (one row per model and board) and for docs/rust.md."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROW_KEYS = ("model", "target", "cores", "bit_exact", "matches_reference", "flash_c", "flash_rust", "ram_c",
            "ram_rust", "cycles_c", "cycles_rust")


def compare(model_or_path, target: str, cores: int, seed: int = 1, cache_dir=None) -> dict:
    """One model on one board: both firmwares run on the same inputs."""
    import arielml
    from arielml.backends.emulator import build_emulated
    from arielml.rust.firmware import build_rust_emulated
    model = arielml.load(model_or_path) if isinstance(model_or_path, (str, Path)) else model_or_path
    inputs = model.random_inputs(seed)
    c_run = build_emulated(model, target, cores, cache_dir=cache_dir).run(inputs)
    rust_run = build_rust_emulated(model, target, cores, cache_dir=cache_dir).run(inputs)
    reference = model.run(inputs)
    same = all(np.array_equal(a, b) for a, b in zip(c_run.outputs, rust_run.outputs))
    exact = all(np.array_equal(a, b) for a, b in zip(rust_run.outputs, reference))
    name = Path(model.path).name if getattr(model, "path", None) is not None else model.graph.name
    return {"model": name, "target": target, "cores": cores, "bit_exact": same, "matches_reference": exact,
            "flash_c": c_run.flash_bytes, "flash_rust": rust_run.flash_bytes, "ram_c": c_run.ram_bytes,
            "ram_rust": rust_run.ram_bytes, "cycles_c": c_run.cycles, "cycles_rust": rust_run.cycles}


def _pct(rust: int, c: int) -> str:
    return f"{100.0 * (rust - c) / c:+.2f}%" if c else "n/a"


def markdown(rows: list[dict]) -> str:
    lines = ["| model | board | cores | Rust = C outputs | = reference | flash C / Rust (B) | RAM C / Rust (B) | "
             "cycles C / Rust |",
             "|---|---|---:|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['target']} | {r['cores']} | {'yes' if r['bit_exact'] else 'NO'} | "
                     f"{'yes' if r['matches_reference'] else 'no'} | "
                     f"{r['flash_c']:,} / {r['flash_rust']:,} ({_pct(r['flash_rust'], r['flash_c'])}) | "
                     f"{r['ram_c']:,} / {r['ram_rust']:,} ({_pct(r['ram_rust'], r['ram_c'])}) | "
                     f"{r['cycles_c']:,} / {r['cycles_rust']:,} ({_pct(r['cycles_rust'], r['cycles_c'])}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arielml.rust.compare", description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--targets", default="rp2040,rp2350-arm,rp2350-riscv,stm32h747,nrf52840")
    parser.add_argument("--cores", default="1,2")
    parser.add_argument("--jsonl", help="append each row to this file as it is measured")
    parser.add_argument("--table", help="print the markdown table of the rows in this JSONL file")
    args = parser.parse_args(argv)
    if args.table:
        rows = [json.loads(line) for line in Path(args.table).read_text().splitlines() if line.strip()]
        print(markdown(rows))
        return 0
    from arielml.targets import get_board
    rows = []
    for model in args.models:
        for target in args.targets.split(","):
            for cores in map(int, args.cores.split(",")):
                if cores > get_board(target).core_count:
                    continue
                try:
                    row = compare(model, target, cores)
                except Exception as e:  # noqa: BLE001 - a row that cannot be measured is reported, not fatal
                    row = {"model": Path(model).name, "target": target, "cores": cores, "error": str(e)[:300]}
                    print(json.dumps(row), file=sys.stderr, flush=True)
                    continue
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.jsonl:
                    with open(args.jsonl, "a") as handle:
                        handle.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
