#!/usr/bin/python3
"""Every Python example of the given Markdown files runs as written.

    doc_examples.py FILE.md...

Each ```python block runs in a fresh /usr/bin/python3, in a scratch
directory where disk.img is the bundled example image (as the docs say),
and must exit 0 with output. The indented shell lines that use pyvss
(they set PYTHONPATH, or make the pyvshadow shim directory) run too (the
shim's must import pyvss's pyvshadow, not Debian's), with
build/python standing for this build's package, build/example/example.img
for the example image and /opt/pyvss-shim for a scratch directory
(README's "make deps python example >/dev/null && " prefix is left out:
it is what built the package under test).
"""
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import bad, check, finish, ok  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def main():
    pypath = os.environ["PYTHONPATH"]
    with tempfile.TemporaryDirectory() as tmp:
        disk = os.path.join(tmp, "disk.img")
        with gzip.open(os.path.join(ROOT, "testimages/example/example.img.gz")) as src, \
                open(disk, "wb") as dst:
            shutil.copyfileobj(src, dst)
        shim = os.path.join(tmp, "shim")
        for doc in sys.argv[1:]:
            text = open(doc).read()
            blocks = re.findall(r"```python\n(.*?)```", text, re.S)
            for i, code in enumerate(blocks):
                r = subprocess.run(["/usr/bin/python3", "-"], input=code.encode(),
                                   cwd=tmp, capture_output=True, timeout=120)
                first = code.strip().splitlines()[-1][:60]
                check(r.returncode == 0 and r.stdout,
                      "%s: Python example %d (... %s) runs%s" %
                      (doc, i + 1, first, "" if r.returncode == 0 else
                       ": " + r.stderr.decode()[-300:]))
            # README's one command: its make part is what built this.
            lines = [re.sub(r"^make deps python example >/dev/null && ", "",
                            l[4:]) for l in text.splitlines()
                     if re.match(r"    (make deps python example >/dev/null && )?"
                                 r"(PYTHONPATH=|mkdir -p /opt/pyvss-shim|"
                                 r"echo .*pyvss-shim)", l)]
            for cmd in lines:
                run = cmd.split("  #")[0]
                run = run.replace("PYTHONPATH=/opt/pyvss-shim",
                                  "PYTHONPATH=/opt/pyvss-shim:" + pypath)
                run = run.replace("/opt/pyvss-shim", shim)
                run = run.replace("PYTHONPATH=build/python", "PYTHONPATH=" + pypath)
                run = run.replace("build/example/example.img", disk)
                r = subprocess.run(["bash", "-c", run], cwd=tmp,
                                   capture_output=True, timeout=120)
                # the shim, not Debian's pyvshadow, must be what imports
                shim_ok = "import pyvshadow" not in cmd or \
                    r.stdout.startswith(b"pyvss.pyvshadow ")
                check(r.returncode == 0 and shim_ok, "%s: %s%s" % (
                    doc, cmd, "" if r.returncode == 0 else
                    ": " + r.stderr.decode()[-300:]))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
