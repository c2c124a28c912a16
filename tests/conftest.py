import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT.parent / "shared" / "zoo"
sys.path.insert(0, str(ROOT))
