import os
import sys
from pathlib import Path

# One BLAS thread: the suite runs on 2 cores under pytest -n 2, and a multithreaded OpenBLAS is
# several times slower when every core is already busy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT.parent / "shared" / "zoo"
sys.path.insert(0, str(ROOT))
