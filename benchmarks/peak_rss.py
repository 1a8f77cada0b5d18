"""Run a command and write its peak resident memory (KiB) to a file: ``peak_rss.py OUT CMD...``.

Brian2 starts the compiled binary through ``prefs.devices.cpp_standalone.run_cmd_unix``; this
wrapper lets the benchmark read the binary's own peak, not the compiler's or Python's.
"""

import os
import subprocess
import sys
from pathlib import Path

if __name__ == "__main__":
    out, command = sys.argv[1], sys.argv[2:]
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    Path(out).write_text(f"{usage.ru_maxrss}\n")
    sys.exit(os.waitstatus_to_exitcode(status))
