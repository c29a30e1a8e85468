#!/usr/bin/python3
"""Runs xenify host-check in the e2e dom0 before a guest's first xl
create (e2e/proof.go); console-driver.py calls run() for each guest
whose job entry has "hostchecks".

For each case ({name, config, attach}): when attach is set, the guest
disk is first attached to dom0 itself (xl block-attach 0), so the disk is
held by a domain as it would be by a running guest; then `xenify
host-check --json CONFIG` runs and its exit status and report are printed
on one line, with the guest's label, for the harness to judge:

  XENIFY-E2E: LABEL: HOSTCHECK <name> <exit status> <report as compact JSON | null>

host-check's stderr is relayed as "hostcheck| ". The disk is detached
again before the next case; a failed attach or detach is a FAIL.
"""
import json
import subprocess


def relay(prefix, text):
    for ln in text.splitlines():
        print(prefix + ln.rstrip(), flush=True)


def xl(*args):
    p = subprocess.run(["xl", *args], capture_output=True, text=True)
    relay("xl| ", p.stdout + p.stderr)
    return p


def detach(vdev):
    """Detaches vdev from dom0; dom0's own blkfront may have bound it,
    and udev may still be probing it, so it waits for udev and tries
    again (three times)."""
    for _ in range(3):
        subprocess.run(["udevadm", "settle", "-t", "30"], capture_output=True)
        if xl("block-detach", "0", vdev).returncode == 0:
            return True
    return False


def run(cases, xenify, say):
    """Runs the cases with the xenify binary; say prints the guest's
    markers. Returns 0, or 1 after a FAIL (dom0 could not run a case)."""
    for case in cases:
        vdev = None
        if case.get("attach"):
            vdev = "xvdz"
            spec = "format=raw, vdev=%s, access=rw, target=%s" % (vdev, case["attach"])
            if xl("block-attach", "0", spec).returncode != 0:
                say("FAIL", "dom0: xl block-attach 0 '%s' failed" % spec)
                return 1
        try:
            p = subprocess.run([xenify, "host-check", "--json", case["config"]], capture_output=True, text=True)
        except OSError as e:
            say("FAIL", "dom0: cannot run %s: %s" % (xenify, e))
            return 1
        relay("hostcheck| ", p.stderr)
        try:
            rep = json.dumps(json.loads(p.stdout), separators=(",", ":"))
        except ValueError:
            relay("hostcheck| ", p.stdout)
            rep = "null"
        say("HOSTCHECK", case["name"], p.returncode, rep)
        if vdev and not detach(vdev):
            say("FAIL", "dom0: xl block-detach 0 %s failed" % vdev)
            return 1
    return 0
