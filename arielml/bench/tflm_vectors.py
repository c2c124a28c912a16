"""TFLite Micro's own test vectors: models with input and golden-output CSV files, as TFLM's
integration tests keep them (tensorflow/lite/micro/integration_tests/seanet/<op>/: NAME.tflite,
NAME_input<k>_<dtype>.csv, NAME_golden_<dtype>.csv, one flat comma-separated row each).

    python -m arielml.bench.tflm_vectors DIR [--backend reference|native|emulator] [--target BOARD]
                                             [--cores N] [--json]

Every model under DIR that has its CSV files is run with those inputs (semantics tflm: the golden
outputs are TFLite Micro's) and compared with the golden values byte for byte. Prints a table
(model, operators, result) and exits 1 when any model differs or fails."""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

_INPUT = re.compile(r"^(?P<name>.+)_input(?P<k>\d+)_(?P<dtype>[a-z0-9]+)\.csv$")
_GOLDEN = re.compile(r"^(?P<name>.+)_golden_(?P<dtype>[a-z0-9]+)\.csv$")


def read_csv_values(path: Path, dtype: str) -> np.ndarray:
    text = path.read_text().replace("\n", ",")
    return np.array([int(v) if dtype != "float32" else float(v) for v in text.split(",") if v.strip()], dtype=dtype)


def vector_sets(directory: Path) -> list[tuple[Path, list[Path], Path]]:
    """(model, input CSVs in order, golden CSV) for every model with its vectors."""
    found = []
    for model in sorted(directory.rglob("*.tflite")):
        inputs = {}
        golden = None
        for csv in model.parent.glob(f"{model.stem}_*.csv"):
            if (m := _INPUT.match(csv.name)) and m["name"] == model.stem:
                inputs[int(m["k"])] = csv
            elif (m := _GOLDEN.match(csv.name)) and m["name"] == model.stem:
                golden = csv
        if golden is not None and inputs:
            found.append((model, [inputs[k] for k in sorted(inputs)], golden))
    return found


def check(model_path: Path, input_csvs: list[Path], golden_csv: Path, backend: str, target: str | None,
          cores: int) -> tuple[str, str]:
    """(status, detail): "bit-exact", "differs" or "error"."""
    import arielml
    from arielml.errors import ArielError
    try:
        model = arielml.load(model_path)
        arrays = [read_csv_values(csv, str(dtype)).reshape(shape)
                  for csv, (shape, dtype) in zip(input_csvs, model.input_specs)]
        kwargs = {} if backend == "reference" else {"cores": cores, "target": target}
        (out, *_) = model.run(arrays, backend=backend, semantics="tflm", **kwargs)
        golden = read_csv_values(golden_csv, str(out.dtype))
    except (ArielError, ValueError) as e:
        return "error", f"{type(e).__name__}: {str(e)[:160]}"
    if golden.size != out.size:
        return "differs", f"golden has {golden.size} values, the output {out.size}"
    wrong = int(np.count_nonzero(out.ravel() != golden))
    return ("bit-exact", f"{out.size} values") if not wrong else ("differs", f"{wrong} of {out.size} values")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arielml.bench.tflm_vectors", description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--backend", default="reference", choices=("reference", "native", "emulator"))
    parser.add_argument("--target", default=None, help="emulated board (--backend emulator), e.g. rp2040")
    parser.add_argument("--cores", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.backend == "emulator" and args.target is None:
        args.target = "rp2040"
    if args.backend == "native" and args.target is None:
        args.target = "host"
    rows = []
    for model, inputs, golden in vector_sets(args.directory):
        status, detail = check(model, inputs, golden, args.backend, args.target, args.cores)
        rows.append({"model": str(model.relative_to(args.directory)), "status": status, "detail": detail})
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table
        where = args.backend + (f" {args.target} x{args.cores}" if args.backend != "reference" else "")
        table = Table(title=f"TFLite Micro test vectors on {where}")
        for column in ("model", "result", "detail"):
            table.add_column(column)
        for row in rows:
            table.add_row(escape(row["model"]), row["status"], escape(row["detail"]))
        console = Console(width=None if sys.stdout.isatty() else 160)
        console.print(table)
        counts = {s: sum(r["status"] == s for r in rows) for s in ("bit-exact", "differs", "error")}
        console.print(f"{len(rows)} models: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return 0 if rows and all(r["status"] == "bit-exact" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
