#!/usr/bin/env python3
"""Build a deterministic git repository for history benchmarks (no network needed).

    python3 benches/make_history_repo.py --source TREE --out REPO [--commits 2000] [--seed 1]

The first commits add the source tree one top-level directory at a time; then --commits small
commits each edit one to three files (append or replace a line), a few of them adding a
synthetic secret and later removing it, on two branches merged at the end, plus a tag. The
repository is written with `git fast-import`, so building it takes seconds. Same arguments,
same repository (fixed dates and authors).
"""
import argparse
import os
import random
import string
import subprocess
import sys


def fake_token(r):
    # Synthetic: a GitHub-shaped token with a valid checksum is not needed here; a Stripe-
    # shaped test key is enough to give the scanners something to find.
    return "sk_live_" + "".join(r.choice(string.ascii_letters + string.digits) for _ in range(24))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--commits", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    r = random.Random(a.seed)

    files = {}
    for root, dirs, names in os.walk(a.source):
        dirs.sort()
        for n in sorted(names):
            p = os.path.join(root, n)
            rel = os.path.relpath(p, a.source).replace(os.sep, "/")
            try:
                with open(p, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if b"\0" in data[:8192] or len(data) > 1 << 20:
                continue
            files[rel] = data
    if not files:
        sys.exit("no files under --source")

    if os.path.exists(a.out):
        sys.exit(f"{a.out} exists; remove it first")
    subprocess.run(["git", "init", "-q", a.out], check=True)
    fi = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=a.out, stdin=subprocess.PIPE)
    out = fi.stdin
    t = 1_600_000_000
    mark = 0

    def commit(branch, msg, changes, parent_marks=()):
        nonlocal t, mark
        t += 600
        mark += 1
        body = msg.encode()
        out.write(f"commit refs/heads/{branch}\nmark :{mark}\n".encode())
        out.write(f"author Bench <bench@example.com> {t} +0000\ncommitter Bench <bench@example.com> {t} +0000\n".encode())
        out.write(f"data {len(body)}\n".encode() + body + b"\n")
        for i, p in enumerate(parent_marks):
            out.write(f"{'from' if i == 0 else 'merge'} :{p}\n".encode())
        for path, data in changes:
            if data is None:
                out.write(f"D {path}\n".encode())
            else:
                out.write(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        return mark

    tops = {}
    for rel in files:
        tops.setdefault(rel.split("/")[0], []).append(rel)
    head = None
    for top in sorted(tops):
        head = commit("main", f"add {top}", [(p, files[p]) for p in tops[top]], [head] if head else [])
    paths = sorted(files)
    tips = {"main": head, "side": head}
    planted = []
    for i in range(a.commits):
        branch = "side" if i % 5 == 4 else "main"
        changes = []
        for _ in range(r.randint(1, 3)):
            p = r.choice(paths)
            data = files[p]
            if r.random() < 0.02:
                line = f"STRIPE_KEY = \"{fake_token(r)}\"\n".encode()
                planted.append(p)
            else:
                line = f"// edit {i} {r.getrandbits(32):08x}\n".encode()
            files[p] = data + line
            changes.append((p, files[p]))
        if planted and r.random() < 0.01:
            p = planted.pop(0)
            files[p] = b"\n".join(l for l in files[p].split(b"\n") if b"STRIPE_KEY" not in l)
            changes.append((p, files[p]))
        tips[branch] = commit(branch, f"edit {i}", changes, [tips[branch]])
    merge = commit("main", "merge side", [], [tips["main"], tips["side"]])
    out.write(f"tag v1.0\nfrom :{merge}\ntagger Bench <bench@example.com> {t} +0000\ndata 4\nv1.0\n".encode())
    out.close()
    if fi.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run(["git", "-C", a.out, "checkout", "-q", "main"], check=True)
    subprocess.run(["git", "-C", a.out, "gc", "-q", "--aggressive"], check=True)
    print(f"{a.out}: {len(tops) + a.commits + 1} commits")


if __name__ == "__main__":
    main()
