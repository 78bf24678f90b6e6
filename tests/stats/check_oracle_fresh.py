#!/usr/bin/python3
"""Fail if tests/stats/stats_oracle.h differs from a fresh run of gen_stats_oracle.py (stale constants)."""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
fresh = subprocess.run([sys.executable, os.path.join(here, "gen_stats_oracle.py")], check=True,
                       capture_output=True, text=True).stdout
with open(os.path.join(here, "stats_oracle.h")) as f:
    stored = f.read()
if fresh != stored:
    import difflib
    sys.stdout.writelines(list(difflib.unified_diff(stored.splitlines(True), fresh.splitlines(True),
                                                    "stats_oracle.h (stored)", "gen_stats_oracle.py (fresh)"))[:60])
    sys.exit("stats_oracle.h is stale: regenerate with /usr/bin/python3 tests/stats/gen_stats_oracle.py > tests/stats/stats_oracle.h")
print("stats_oracle.h matches a fresh generation")
