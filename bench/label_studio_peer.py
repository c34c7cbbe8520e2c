"""Peer benchmark (`make bench-peers`): the same HH-style preference pairs through Pairwise and
through Label Studio, one after the other in one run, on this machine.

Both tools get exactly the same rows, written once as TRL JSONL ({"prompt", "chosen", "rejected"})
from the HH-RLHF harmless-base test split (cycled; " (#k)" appended to the last human turn so
every row is unique). Pairwise: `pairwise import pairs --format trl`, `dataset freeze`, then
`export --format trl`, each a separate process timed end to end (start-up included), on a fresh
SQLite database. Label Studio: started from its own venv (its default SQLite, a fresh data
directory, analytics, Sentry and the version check off), a project with the pairwise-comparison
labeling config, the tasks POSTed to /api/projects/{id}/import (one request; batches if that is
refused or times out) and the project exported with GET /api/projects/{id}/export?exportType=JSON
&download_all_tasks=true (the export-snapshot API if that fails). Exported counts are checked on
both sides. Writes bench/results/peers-label-studio.json and prints a table.

Standard library only. Timings include each tool's own overheads (process start for the
Pairwise CLI; HTTP, JSON parsing and Django for Label Studio); Label Studio's start-up and
migrations are timed separately and kept out of the ratios.
"""

import argparse
import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ASSISTANT = "\n\nAssistant:"
LABEL_CONFIG = """<View>
  <Header value="$prompt"/>
  <Pairwise name="pw" toName="chosen,rejected"/>
  <Text name="chosen" value="$chosen"/>
  <Text name="rejected" value="$rejected"/>
</View>"""


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- the pairs


def split_hh(chosen, rejected):
    """HH-RLHF transcripts → (prompt up to and including the last shared "\\n\\nAssistant:",
    chosen answer, rejected answer), or None when there is no such turn or no difference."""
    common = 0
    for a, b in zip(chosen, rejected):
        if a != b:
            break
        common += 1
    cut = chosen.rfind(ASSISTANT, 0, common)
    if cut < 0 or "\n\nHuman:" not in chosen[:cut]:
        return None
    end = cut + len(ASSISTANT)
    answer_c, answer_r = chosen[end:].strip(), rejected[end:].strip()
    if not answer_c or not answer_r or answer_c == answer_r:
        return None
    return chosen[:cut], answer_c, answer_r


def write_pairs(source, n, path):
    base = []
    with gzip.open(source, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            split = split_hh(row["chosen"], row["rejected"])
            if split:
                base.append(split)
    with open(path, "w", encoding="utf-8") as out:
        for k in range(n):
            head, chosen, rejected = base[k % len(base)]
            # The suffix goes at the end of the last human turn, before the final "Assistant:".
            row = {"prompt": f"{head} (#{k}){ASSISTANT}", "chosen": chosen, "rejected": rejected}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(base)


# ---------------------------------------------------------------- Pairwise


def timed_child(argv, **kwargs):
    """Runs a process to completion; (seconds, peak RSS bytes of that process, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    # wait4 gives this child's own rusage; read the pipes on threads so the child never blocks.
    chunks = {"out": [], "err": []}
    readers = [
        threading.Thread(target=lambda: chunks["out"].append(proc.stdout.read())),
        threading.Thread(target=lambda: chunks["err"].append(proc.stderr.read())),
    ]
    for r in readers:
        r.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    for r in readers:
        r.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = b"".join(chunks["out"]), b"".join(chunks["err"])
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {err.decode(errors='replace')[-2000:]}")
    return seconds, usage.ru_maxrss * 1024, out.decode(errors="replace")


def run_pairwise(binary, work, pairs_path, n):
    db = f"sqlite://{work}/pairwise.db?mode=rwc"
    pw = [binary, "--database-url", db]
    timed_child(pw + ["migrate"])
    timed_child(pw + ["project", "create", "--name", "peers"])
    log("pairwise: import")
    import_s, import_rss, _ = timed_child(pw + ["import", "pairs", pairs_path, "--project", "peers", "--format", "trl"])
    log(f"pairwise: import {import_s:.1f} s; freeze")
    freeze_s, freeze_rss, _ = timed_child(pw + ["dataset", "freeze", "--project", "peers", "--tag", "v1"])
    out = os.path.join(work, "pairwise-export.jsonl")
    log(f"pairwise: freeze {freeze_s:.1f} s; export")
    export_s, export_rss, _ = timed_child(
        pw + ["export", "--project", "peers", "--version", "v1", "--format", "trl", "--out", out]
    )
    with open(out, "rb") as f:
        rows = sum(1 for _ in f)
    export_bytes = os.path.getsize(out)
    log(f"pairwise: export {export_s:.1f} s, {rows} rows")
    if rows != n:
        raise RuntimeError(f"Pairwise exported {rows} rows, expected {n}")
    return {
        "import_s": import_s,
        "import_rows_per_s": n / import_s,
        "import_peak_rss_bytes": import_rss,
        "freeze_s": freeze_s,
        "freeze_peak_rss_bytes": freeze_rss,
        "export_s": export_s,
        "export_rows_per_s": n / export_s,
        "export_peak_rss_bytes": export_rss,
        "export_bytes": export_bytes,
        "exported_rows": rows,
        "database_bytes": sum(
            os.path.getsize(os.path.join(work, f)) for f in os.listdir(work) if f.startswith("pairwise.db")
        ),
    }


# ---------------------------------------------------------------- Label Studio


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_rss(pid):
    """Resident memory of a process and its descendants, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        stack.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class LabelStudio:
    def __init__(self, venv, work, log_path):
        self.venv, self.work, self.log_path = venv, work, log_path
        self.proc = None
        self.token = "pairwise-bench-" + os.urandom(12).hex()
        self.peak_rss = 0
        self._sampling = False

    def start(self, data_dir):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update(
            {
                "LABEL_STUDIO_BASE_DATA_DIR": data_dir,
                "COLLECT_ANALYTICS": "false",
                "LATEST_VERSION_CHECK": "false",
                "SENTRY_DSN": "",
                "FRONTEND_SENTRY_DSN": "",
                "FEATURE_FLAGS_OFFLINE": "true",
                "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
                "DJANGO_DB": "sqlite",
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.logfile = open(self.log_path, "ab")
        argv = [
            os.path.join(self.venv, "bin", "label-studio"),
            "start",
            "--no-browser",
            "--data-dir",
            data_dir,
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--username",
            "bench@example.com",
            "--password",
            os.urandom(12).hex(),
            "--user-token",
            self.token,
            "--enable-legacy-api-token",
            "--log-level",
            "WARNING",
        ]
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, env=env, stdout=self.logfile, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._sampling = True
        threading.Thread(target=self._sample, daemon=True).start()
        deadline = time.time() + 600
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"label-studio exited {self.proc.returncode} while starting; see {self.log_path}")
            try:
                self.request("GET", "/api/version", timeout=5)
                return time.perf_counter() - started
            except (OSError, urllib.error.URLError):
                time.sleep(1)
        raise RuntimeError(f"label-studio did not answer within 600 s; see {self.log_path}")

    def _sample(self):
        while self._sampling and self.proc and self.proc.poll() is None:
            self.peak_rss = max(self.peak_rss, tree_rss(self.proc.pid))
            time.sleep(0.5)

    def stop(self):
        self._sampling = False
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.logfile.close()

    def request(self, method, path, body=None, timeout=60, raw=False, out_file=None):
        headers = {"Authorization": f"Token {self.token}"}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            if out_file is not None:
                with open(out_file, "wb") as f:
                    shutil.copyfileobj(resp, f, 1 << 20)
                return resp.status
            payload = resp.read()
        if raw:
            return payload
        return json.loads(payload) if payload else None

    def task_count(self, project):
        return self.request("GET", f"/api/projects/{project}")["task_number"]


# Refused, reset, timed out or cut short (urllib's URLError and HTTPError are OSErrors).
NETWORK_ERRORS = (OSError, http.client.HTTPException)


def http_error(e):
    if isinstance(e, urllib.error.HTTPError):
        try:
            detail = e.read().decode(errors="replace")[:300]
        except Exception:  # noqa: BLE001 - the body is only for the note
            detail = ""
        return f"HTTP {e.code} {detail}".strip()
    return f"{type(e).__name__}: {e}"


def ls_import(ls, project, tasks, batch, single_timeout, batch_timeout, notes):
    """Imports `tasks`; returns (seconds, requests, mode) or raises. One request first when
    batch is 0, batches of `batch` otherwise."""
    n = len(tasks)
    if batch == 0:
        body = json.dumps(tasks).encode()
        notes.append(f"single import request body: {len(body) / 1e6:.0f} MB")
        start = time.perf_counter()
        resp = ls.request("POST", f"/api/projects/{project}/import", body, timeout=single_timeout)
        seconds = time.perf_counter() - start
        notes.append(f"one request of {n} tasks: HTTP 201 in {seconds:.1f} s (server-side duration {resp.get('duration', 0):.1f} s)")
        return seconds, 1, "single-request"
    start, requests = time.perf_counter(), 0
    for i in range(0, n, batch):
        body = json.dumps(tasks[i : i + batch]).encode()
        t = time.perf_counter()
        ls.request("POST", f"/api/projects/{project}/import", body, timeout=batch_timeout)
        requests += 1
        log(f"label-studio: batch {requests} ({i + batch if i + batch < n else n}/{n}) in {time.perf_counter() - t:.1f} s")
    return time.perf_counter() - start, requests, f"batches of {batch}"


def ls_export(ls, project, work, n, timeout, notes):
    """Direct JSON export; the snapshot API if that fails. (seconds, path, method)."""
    out = os.path.join(work, "label-studio-export.json")
    start = time.perf_counter()
    try:
        ls.request(
            "GET", f"/api/projects/{project}/export?exportType=JSON&download_all_tasks=true", timeout=timeout, out_file=out
        )
        return time.perf_counter() - start, out, "GET /api/projects/{id}/export?exportType=JSON&download_all_tasks=true"
    except NETWORK_ERRORS as e:
        notes.append(f"direct export failed after {time.perf_counter() - start:.1f} s: {http_error(e)}")
    start = time.perf_counter()
    snap = ls.request("POST", f"/api/projects/{project}/exports", {"task_filter_options": {"only_with_annotations": False}}, timeout=timeout)
    while True:
        state = ls.request("GET", f"/api/projects/{project}/exports/{snap['id']}")
        if state["status"] == "completed":
            break
        if state["status"] == "failed":
            raise RuntimeError(f"export snapshot failed: {state}")
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"export snapshot not done after {timeout} s: {state['status']}")
        time.sleep(1)
    ls.request("GET", f"/api/projects/{project}/exports/{snap['id']}/download?exportType=JSON", timeout=timeout, out_file=out)
    return time.perf_counter() - start, out, "export snapshot (POST /api/projects/{id}/exports, then download)"


def run_label_studio(venv, work, pairs_path, n, args):
    with open(pairs_path, encoding="utf-8") as f:
        tasks = [{"data": json.loads(line)} for line in f]
    notes = []
    result = {"notes": notes}
    ls = LabelStudio(venv, work, os.path.join(work, "label-studio.log"))
    version = subprocess.run(
        [os.path.join(venv, "bin", "python"), "-c", "import label_studio; print(label_studio.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    result["version"] = version
    attempt = 0

    def fresh():
        nonlocal attempt
        attempt += 1
        data_dir = os.path.join(work, f"ls-data-{attempt}")
        os.makedirs(data_dir)
        log("label-studio: starting (migrations on a fresh data dir)")
        startup = ls.start(data_dir)
        log(f"label-studio: up in {startup:.1f} s on port {ls.port}")
        project = ls.request("POST", "/api/projects", {"title": "peers", "label_config": LABEL_CONFIG})["id"]
        return startup, project, data_dir

    try:
        startup, project, data_dir = fresh()
        result["startup_s"] = startup
        single = None
        if args.ls_batch:
            notes.append(f"one-request import skipped (--ls-batch {args.ls_batch})")
        else:
            log(f"label-studio: importing {n} tasks in one request (timeout {args.single_timeout} s)")
            try:
                single = ls_import(ls, project, tasks, 0, args.single_timeout, 0, notes)
            except NETWORK_ERRORS as e:
                partial = None
                try:
                    partial = ls.task_count(project)
                except Exception:  # noqa: BLE001 - the server may still be busy with the request
                    pass
                notes.append(
                    f"one import request of {n} tasks failed: {http_error(e)}"
                    + (f" (tasks in the project afterwards: {partial})" if partial is not None else "")
                )
                log(f"label-studio: {notes[-1]}; restarting on a fresh data dir for batches")
                ls.stop()
                ls.peak_rss = 0
                startup, project, data_dir = fresh()
                result["restart_startup_s"] = startup
        if single:
            seconds, requests, mode = single
        else:
            batch = args.ls_batch or 10000
            seconds, requests, mode = ls_import(ls, project, tasks, batch, 0, args.batch_timeout, notes)
        count = ls.task_count(project)
        log(f"label-studio: import {seconds:.1f} s ({mode}); project has {count} tasks")
        if count != n:
            notes.append(f"project holds {count} tasks after import, expected {n}")
        result.update({"import_s": seconds, "import_rows_per_s": n / seconds, "import_requests": requests, "import_mode": mode})
        result["import_peak_rss_bytes"] = ls.peak_rss
        log("label-studio: export")
        export_s, path, method = ls_export(ls, project, work, n, args.export_timeout, notes)
        with open(path, "rb") as f:
            exported = json.load(f)
        rows = len(exported)
        log(f"label-studio: export {export_s:.1f} s, {rows} tasks via {method}")
        if rows != n:
            notes.append(f"export held {rows} tasks, expected {n}")
        sample = exported[0]["data"] if rows else {}
        if rows and sample.get("prompt") != tasks[0]["data"]["prompt"] and sample.get("prompt") != tasks[-1]["data"]["prompt"]:
            notes.append("first exported task's prompt matches neither end of the input order")
        result.update(
            {
                "export_s": export_s,
                "export_rows_per_s": n / export_s,
                "export_method": method,
                "export_bytes": os.path.getsize(path),
                "exported_rows": rows,
                "peak_rss_bytes": ls.peak_rss,
                "database_bytes": sum(
                    os.path.getsize(os.path.join(data_dir, f))
                    for f in os.listdir(data_dir)
                    if f.startswith("label_studio.sqlite3")
                ),
            }
        )
        del exported
    finally:
        ls.stop()
    return result


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=100_000)
    p.add_argument("--source", default=os.path.join(root, "..", "shared", "data", "hh-rlhf", "harmless-base-test.jsonl.gz"))
    p.add_argument("--pairwise", default=os.path.join(root, "target", "release", "pairwise"))
    p.add_argument("--ls-venv", default=os.path.join(root, ".tools", "ls-venv"))
    p.add_argument("--out", default=os.path.join(root, "bench", "results", "peers-label-studio.json"))
    p.add_argument("--ls-batch", type=int, default=0, help="skip the one-request import; batches of this size")
    p.add_argument("--single-timeout", type=int, default=1200, help="seconds for the one-request import")
    p.add_argument("--batch-timeout", type=int, default=600, help="seconds for each batch request")
    p.add_argument("--export-timeout", type=int, default=1200)
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = p.parse_args()

    work = tempfile.mkdtemp(prefix="pairwise-peers-")
    try:
        pairs_path = os.path.join(work, "pairs.jsonl")
        distinct = write_pairs(args.source, args.pairs, pairs_path)
        input_bytes = os.path.getsize(pairs_path)
        log(f"{args.pairs} pairs ({input_bytes / 1e6:.0f} MB TRL JSONL) from {distinct} HH-RLHF rows in {work}")
        pairwise_version = subprocess.run([args.pairwise, "--version"], capture_output=True, text=True, check=True).stdout.strip()
        load_before = os.getloadavg()
        pw = run_pairwise(args.pairwise, work, pairs_path, args.pairs)
        ls = run_label_studio(args.ls_venv, work, pairs_path, args.pairs, args)
        load_after = os.getloadavg()
        result = {
            "benchmark": "peers-label-studio",
            "pairs": args.pairs,
            "input_bytes": input_bytes,
            "source": "HH-RLHF harmless-base test split, cycled, a unique \" (#k)\" on each prompt's last human turn",
            "versions": {"pairwise": pairwise_version, "label_studio": ls.pop("version")},
            "machine": {"cpus": os.cpu_count(), "loadavg_1m_before": load_before[0], "loadavg_1m_after": load_after[0]},
            "pairwise": {
                "backend": "sqlite",
                "import_s": pw["import_s"],
                "import_rows_per_s": pw["import_rows_per_s"],
                "freeze_s": pw["freeze_s"],
                "export_s": pw["export_s"],
                "export_rows_per_s": pw["export_rows_per_s"],
                "export_format": "trl (JSONL)",
                **{k: v for k, v in pw.items() if k not in ("import_s", "import_rows_per_s", "freeze_s", "export_s", "export_rows_per_s")},
            },
            "label_studio": {"backend": "sqlite (default)", **ls},
        }
        if "import_s" in ls:
            result["import_ratio"] = ls["import_s"] / pw["import_s"]
        if "export_s" in ls:
            result["export_ratio"] = ls["export_s"] / pw["export_s"]
            result["export_ratio_with_freeze"] = ls["export_s"] / (pw["export_s"] + pw["freeze_s"])
        result["note"] = (
            "Pairwise steps are separate CLI processes timed end to end (start-up included); Label Studio steps "
            "are REST calls to a running server (HTTP and JSON encoding included, start-up and migrations in "
            "startup_s, not in the ratios). Ratios are Label Studio seconds / Pairwise seconds. Pairwise exports a "
            "frozen version, so export_ratio_with_freeze adds the freeze to Pairwise's side."
        )
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        os.replace(tmp, args.out)

        lsr = result["label_studio"]
        print()
        print(f"{args.pairs} pairs, {input_bytes / 1e6:.0f} MB; {result['versions']['pairwise']} vs label-studio {result['versions']['label_studio']}")
        print(f"{'step':<10}{'Pairwise':>14}{'Label Studio':>16}{'ratio':>9}")
        for step in ("import", "export"):
            print(
                f"{step:<10}{pw[step + '_s']:>12.1f} s{lsr.get(step + '_s', float('nan')):>14.1f} s"
                f"{result.get(step + '_ratio', float('nan')):>8.1f}x"
            )
        print(f"{'rows/s':<10}{pw['import_rows_per_s']:>14.0f}{lsr.get('import_rows_per_s', float('nan')):>16.0f}  (import)")
        print(f"{'rows/s':<10}{pw['export_rows_per_s']:>14.0f}{lsr.get('export_rows_per_s', float('nan')):>16.0f}  (export)")
        print(f"(Pairwise freeze before export: {pw['freeze_s']:.1f} s; Label Studio start-up: {lsr.get('startup_s', 0):.1f} s)")
        for note in lsr["notes"]:
            print(f"label-studio: {note}")
        print(f"wrote {os.path.relpath(args.out, root)}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
