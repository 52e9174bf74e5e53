#!/usr/bin/env python3
"""Replays first-turn prompts of earlier runs on the local model's server,
with or without llama.cpp's n-gram speculation, and prints llama.cpp's own
timings per request (examples/function_minimization/MEASURED.md).

usage: scripts/replay-local-prompts.py SPECULATION TEMPERATURE COUNT RUN_DIR...
  SPECULATION  none, ngram_simple or ngram_mod
  RUN_DIR      an `openevolve run -o` directory (its evolution.db.prompts)

The model and runtime are the ones `scripts/setup-local-model.sh` fetched
into ~/.cache/openevolve/models (or OPENEVOLVE_MODEL_DIR).
"""
import glob
import json
import os
import re
import sqlite3
import sys
import time
import urllib.request

speculation, temperature, count = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
models = os.environ.get("OPENEVOLVE_MODEL_DIR", os.path.expanduser("~/.cache/openevolve/models"))
sys.path.insert(0, sorted(glob.glob(os.path.join(models, "runtime", "xllamacpp-*")))[-1])
import xllamacpp as xlc  # noqa: E402

# The first request of each iteration, each distinct prompt once.
prompts, seen = [], set()
for run in sys.argv[4:]:
    db = sqlite3.connect(os.path.join(run, "evolution.db.prompts"))
    for (exchange,) in db.execute("SELECT exchange FROM exchanges ORDER BY iteration"):
        parts = re.split(r"^# (system|user|answer)\n", exchange, flags=re.M)
        system, user = (parts[parts.index(role) + 1].strip() for role in ("system", "user"))
        if user not in seen:
            seen.add(user)
            prompts.append([{"role": "system", "content": system}, {"role": "user", "content": user}])
# Skip the first (every run's opens on the same initial program); spread the rest.
prompts = prompts[1 :: max(1, len(prompts) // count)][:count]

params = xlc.CommonParams()
params.model.path = os.path.join(models, "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
params.n_ctx, params.n_parallel, params.hostnames, params.port = 8192, 1, ["127.0.0.1"], 0
params.cpuparams.n_threads = params.cpuparams_batch.n_threads = os.cpu_count()
if speculation != "none":
    params.speculative.types = [getattr(xlc.common_speculative_type, "COMMON_SPECULATIVE_TYPE_" + speculation.upper())]
server = xlc.Server(params)

total_tokens = total_seconds = 0.0
for i, messages in enumerate(prompts):
    body = {"model": "local", "messages": messages, "temperature": temperature, "max_tokens": 1024, "seed": 7}
    request = urllib.request.Request(
        server.listening_address + "/v1/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    started = time.time()
    timings = json.load(urllib.request.urlopen(request, timeout=900)).get("timings", {})
    total_tokens += timings.get("predicted_n", 0)
    total_seconds += timings.get("predicted_ms", 0) / 1000
    print(
        f"{speculation} request {i}: wall {time.time() - started:.1f} s, "
        f"prompt {timings.get('prompt_n')} tokens at {timings.get('prompt_per_second', 0):.0f}/s, "
        f"generated {timings.get('predicted_n')} in {timings.get('predicted_ms', 0) / 1000:.1f} s "
        f"({timings.get('predicted_per_second', 0):.1f}/s), drafts accepted "
        f"{timings.get('draft_n_accepted', '-')} of {timings.get('draft_n', '-')}",
        flush=True,
    )
print(f"{speculation}: generated {total_tokens:.0f} tokens in {total_seconds:.1f} s", flush=True)
os._exit(0)  # the server runs in this process; skip its slow shutdown
