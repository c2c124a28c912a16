import os
import sys
from pathlib import Path

import pytest

# One BLAS thread: the suite runs on 2 cores under pytest -n 2, and a multithreaded OpenBLAS is
# several times slower when every core is already busy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT.parent / "shared" / "zoo"
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="module")
def cache(pytestconfig):
    """Build cache of the native backend's tests (generated C compiled by the host gcc), kept between
    runs in pytest's cache directory inside the repository."""
    return pytestconfig.cache.mkdir("arielml_native")
