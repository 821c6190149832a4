"""labtime.py - the tests' one safety timeout, for the Python helpers.

The rule and the value live at the top of tests/netns/lib.sh: tests never
assert durations; every wait is for a condition, bounded by SAFETY seconds
(IGDD_TEST_TIMEOUT_BASE x IGDD_TEST_TIMEOUT_SCALE), which lib.sh exports as
IGDD_TEST_TIMEOUT. Run by hand (without lib.sh), the value is read from
lib.sh beside this file.
"""
import os
import re
import time


def _from_lib_sh():
    base = 60
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib.sh")) as f:
            m = re.search(r"^IGDD_TEST_TIMEOUT_BASE=(\d+)$", f.read(), re.M)
            base = int(m.group(1))
    except (OSError, AttributeError, ValueError) as e:
        raise SystemExit("labtime: cannot read IGDD_TEST_TIMEOUT_BASE from lib.sh: %s" % e)
    return base * int(os.environ.get("IGDD_TEST_TIMEOUT_SCALE", "1") or "1")


SAFETY = float(os.environ.get("IGDD_TEST_TIMEOUT") or _from_lib_sh())
# Servers and listeners that the test kills when it ends still stop by
# themselves after this long (a test killed by CTest's backstop leaves
# nothing running for ever).
LIFETIME = 20 * SAFETY


def until(cond, timeout=None, interval=0.05):
    """Call cond() until it returns true (that value is returned), at most
    timeout seconds (default SAFETY); None when it never did."""
    end = time.monotonic() + (SAFETY if timeout is None else timeout)
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= end:
            return None
        time.sleep(interval)
