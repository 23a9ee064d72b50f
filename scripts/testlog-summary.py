#!/usr/bin/env python3
"""Prints "PASSED FAILED SKIPPED" for a meson testlog.json and lists every
skipped test with the reason it printed (the last line of its output)."""
import json
import sys

passed = failed = skipped = 0
try:
    lines = open(sys.argv[1]).read().splitlines()
except OSError:
    lines = []
for line in lines:
    t = json.loads(line)
    result = t.get("result", "")
    if result in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif result == "SKIP":
        skipped += 1
        out = (t.get("stdout") or "").strip().splitlines()
        reason = next((l for l in reversed(out) if "SKIP" in l), out[-1] if out else "no reason printed")
        print(f"SKIPPED {t['name']}: {reason}", file=sys.stderr)
    else:
        failed += 1
print(passed, failed, skipped)
