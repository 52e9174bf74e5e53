#!/usr/bin/env python3
"""Generation speed of the local model server, idle and beside a build.

Starts llama.cpp's server (the xllamacpp wheel) once per `poll` setting,
asks it for the same answer a few times on an idle machine, then again
while a `cargo build` runs beside it, and prints the median tokens/s of
each. The build is of this workspace's `openevolve-db` in a throwaway
target folder, so it loads every core for a minute or two.

    python3 scripts/measure-local-load.py RUNTIME_DIR MODEL.gguf [POLL ...]

THREADS (default: every core) sets the server's threads; BUILD_NICE (default
0) runs the build beside it at that niceness, as the controller runs its
candidate builds.

RUNTIME_DIR holds the unpacked xllamacpp package (the local provider's
runtime folder, `~/.cache/openevolve/models/runtime` after a first run).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SERVER = r"""
import sys, xllamacpp as xlc
model, poll, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
p = xlc.CommonParams()
p.model.path = model
p.n_ctx = 4096
p.n_parallel = 1
p.hostnames = ["127.0.0.1"]
p.port = 0
p.cpuparams.n_threads = threads
p.cpuparams_batch.n_threads = threads
p.cpuparams.poll = poll
p.cpuparams_batch.poll = poll
server = xlc.Server(p)
print("LISTENING", server.listening_address, flush=True)
sys.stdin.read()
"""

PROMPT = "Write a Rust function that returns the n-th Fibonacci number, with a doc comment."


def ask(address, seed):
    body = json.dumps({
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 96, "temperature": 0.0, "seed": seed,
    }).encode()
    request = urllib.request.Request(f"http://{address}/v1/chat/completions", body,
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=900) as reply:
        timings = json.load(reply)["timings"]
    return timings["predicted_per_second"]


def start(runtime, model, poll):
    env = dict(os.environ, PYTHONPATH=runtime)
    threads = int(os.environ.get("THREADS", len(os.sched_getaffinity(0))))
    proc = subprocess.Popen([sys.executable, "-c", SERVER, model, str(poll), str(threads)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if line.startswith("LISTENING"):
            address = line.split()[1]
            return proc, address.replace("http://", "")
    raise SystemExit("the server did not start")


def build_beside(done):
    target = tempfile.mkdtemp(prefix="load-target-")
    try:
        niceness = os.environ.get("BUILD_NICE", "0")
        subprocess.run(["nice", "-n", niceness, "cargo", "build", "--release", "-q", "-p", "openevolve-db",
                        "--target-dir", target], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        done.set()
        shutil.rmtree(target, ignore_errors=True)


def main():
    runtime, model = sys.argv[1], sys.argv[2]
    polls = [int(p) for p in sys.argv[3:]] or [50, 0]
    for poll in polls:
        proc, address = start(runtime, model, poll)
        ask(address, 0)  # warm-up
        idle = [ask(address, s) for s in range(1, 4)]
        done = threading.Event()
        threading.Thread(target=build_beside, args=(done,), daemon=True).start()
        time.sleep(20)  # past cargo's start, into the compiles
        loaded = []
        while not done.is_set() and len(loaded) < 3:
            loaded.append(ask(address, 10 + len(loaded)))
        done.wait()
        proc.stdin.close()
        proc.wait()
        idle_median = statistics.median(idle)
        loaded_median = statistics.median(loaded) if loaded else float("nan")
        print(f"threads {os.environ.get('THREADS', 'all')}, build nice {os.environ.get('BUILD_NICE', '0')}, "
              f"poll {poll}: idle {idle_median:.1f} tok/s {[round(x, 1) for x in idle]}, "
              f"beside a build {loaded_median:.1f} tok/s {[round(x, 1) for x in loaded]}, "
              f"ratio {loaded_median / idle_median:.2f}", flush=True)


if __name__ == "__main__":
    main()
