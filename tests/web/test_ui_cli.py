"""`ganctl ui` refuses to serve beyond loopback without a token: one line, exit 2, nothing bound."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_non_loopback_host_without_token_is_refused(tmp_path):
    env = {"GANCTL_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    exe = Path(sys.executable).parent / "ganctl"
    proc = subprocess.run([str(exe), "ui", "--host", "0.0.0.0", "--port", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "error: --host 0.0.0.0 is not a loopback address: set GANCTL_UI_TOKEN to serve beyond this machine"]
