#!/usr/bin/env python3
"""How much of a run's prompts llama.cpp's server took from its cache.

    python3 scripts/prompt-cache-reuse.py SERVER_LOG RUN_DIR/evolution.db

SERVER_LOG is the local server's log of the run (its path is in the run's
log line "local model server ready ... log=..."). The database holds the
prompt tokens of every request; the log, the tokens the server computed.
"""

import re
import sqlite3
import sys


def main():
    log, db = sys.argv[1], sys.argv[2]
    text = open(log, encoding="utf-8", errors="replace").read()
    computed = [int(m.group(1)) for m in re.finditer(r"prompt eval time = +[\d.]+ ms / +(\d+) tokens", text)]
    total = sqlite3.connect(db).execute("SELECT SUM(prompt_tokens) FROM iterations").fetchone()[0] or 0
    if not total:
        raise SystemExit("the database records no prompt tokens")
    reused = 1 - sum(computed) / total
    print(f"{len(computed)} requests, {total} prompt tokens, {sum(computed)} computed, {reused:.0%} from the cache")


if __name__ == "__main__":
    main()
