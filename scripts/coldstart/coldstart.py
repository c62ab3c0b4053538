#!/usr/bin/env python3
"""Cold start of edba's Lambda binaries, measured against a minimal Lambda
Runtime API emulator on loopback.

For each function: start the bootstrap binary with AWS_LAMBDA_RUNTIME_API
pointing here, serve it one invocation, and record the time from process
start to its first GET /next (init) and to its response POST (first
invocation), plus its peak RSS (VmHWM) at that moment. The first response may
be an error response (the events are minimal and AWS is out of reach); the
time to it is what a cold invocation costs either way.

  scripts/coldstart/coldstart.py [--bin-dir target/release] [--runs 5]
                                 [--state-store-url mysql://root@127.0.0.1:3306/test]

Standard library only. AWS SDK calls go to a closed loopback port with one
attempt, so no request leaves the machine.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FUNCTIONS = {
    "validate": {
        "event": {
            "bucket": "edba-cold",
            "object": {"key": "incoming/IL-101.tdf", "size": 10, "sequencer": "0001"},
            "event_time": "2026-01-01T00:00:00Z",
        },
        "env": {},
    },
    "track": {"event": {}, "env": {"state_store": True}},
    "evaluate": {
        "event": {"trigger": "schedule", "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:edba-aggregate:cold"},
        "env": {"state_store": True},
    },
    "load": {
        "event": {"run_id": "r-cold", "job_id": "il-sales", "output_prefix": "output/il-sales/r-cold/", "tables": ["salessummary"]},
        "env": {
            "EDBA_REDSHIFT_WORKGROUP": "edba",
            "EDBA_REDSHIFT_DATABASE": "dev",
            "EDBA_REDSHIFT_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:wh-AbCdEf",
            "EDBA_REDSHIFT_COPY_ROLE_ARN": "arn:aws:iam::123456789012:role/edba-copy",
        },
    },
    "record": {
        "event": {"run_id": "r-cold", "job_id": "il-sales", "outcome": "FAILED", "failure": {"error": "States.Timeout", "cause": "cold"}},
        "env": {"state_store": True},
    },
}


class Invocation:
    """One invocation served to one process; the handler fills in the times."""

    def __init__(self, event):
        self.event = json.dumps(event).encode()
        self.request_id = str(uuid.uuid4())
        self.served = False
        self.first_next = None
        self.response_at = None
        self.response_kind = None
        self.response_body = b""
        self.done = threading.Event()


def make_handler(inv: Invocation):
    class RuntimeApi(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _reply(self, code, body=b"", headers=None):
            try:
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the process was stopped while its next /next waited

        def do_GET(self):
            if not self.path.endswith("/runtime/invocation/next"):
                return self._reply(404)
            now = time.monotonic()
            if inv.first_next is None:
                inv.first_next = now
            if inv.served:
                # A second /next waits; the process is stopped before it matters.
                inv.done.wait(30)
                return self._reply(500)
            inv.served = True
            deadline_ms = int((time.time() + 60) * 1000)
            self._reply(
                200,
                inv.event,
                {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:edba-cold",
                    "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
                },
            )

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if "/runtime/init/error" in self.path:
                kind = "init-error"
            elif self.path.endswith("/response"):
                kind = "response"
            elif self.path.endswith("/error"):
                kind = "error"
            else:
                return self._reply(404)
            if inv.response_at is None:
                inv.response_at = time.monotonic()
                inv.response_kind = kind
                inv.response_body = body[:300]
            self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
            inv.done.set()

    return RuntimeApi


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a stopped process resets its pending /next; that is expected


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cold_start(binary, name, spec, state_store_url):
    inv = Invocation(spec["event"])
    server = QuietServer(("127.0.0.1", 0), make_handler(inv))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": f"edba-{name}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/edba/cold/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "cold",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "_HANDLER": "bootstrap",
        "AWS_REGION": "us-east-1",
        # Stand-in credentials: the SDK wants some, no request leaves loopback.
        "AWS_ACCESS_KEY_ID": "AKIDCOLDSTART",
        "AWS_SECRET_ACCESS_KEY": "coldstart",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_MAX_ATTEMPTS": "1",
        "EDBA_BUCKET": "edba-cold",
    }
    for k, v in spec["env"].items():
        if k == "state_store":
            env["EDBA_STATE_STORE_URL"] = state_store_url
        else:
            env[k] = v
    start = time.monotonic()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finished = inv.done.wait(60)
    rss = peak_rss_kib(proc.pid)
    proc.terminate()
    try:
        _, stderr = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
    server.shutdown()
    server.server_close()
    if not finished:
        tail = stderr.decode(errors="replace")[-500:]
        raise RuntimeError(f"{name}: no response within 60 s (exit {proc.returncode}): {tail}")
    init_ms = (inv.first_next - start) * 1000 if inv.first_next else None
    return {
        "init_ms": init_ms,
        "first_response_ms": (inv.response_at - start) * 1000,
        "kind": inv.response_kind,
        "body": inv.response_body.decode(errors="replace"),
        "peak_rss_kib": rss,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", default="target/release")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--state-store-url", default="mysql://root@127.0.0.1:3306/test")
    ap.add_argument("--json", action="store_true", help="print one JSON object per function")
    args = ap.parse_args()

    print(f"# {args.bin_dir}, {args.runs} cold starts each, state store {args.state_store_url}")
    print(f"{'function':<10} {'init ms':>9} {'first resp ms':>14} {'max ms':>8} {'peak RSS MiB':>13}  first response")
    for name, spec in FUNCTIONS.items():
        binary = os.path.join(args.bin_dir, name)
        if not os.access(binary, os.X_OK):
            binary = os.path.join(args.bin_dir, name, "bootstrap")
        if not os.access(binary, os.X_OK):
            sys.exit(f"coldstart.py: no binary for {name} in {args.bin_dir}")
        runs = [cold_start(binary, name, spec, args.state_store_url) for _ in range(args.runs)]
        init = statistics.median(r["init_ms"] for r in runs if r["init_ms"] is not None)
        first = statistics.median(r["first_response_ms"] for r in runs)
        worst = max(r["first_response_ms"] for r in runs)
        rss = max(r["peak_rss_kib"] or 0 for r in runs) / 1024
        last = runs[-1]
        if args.json:
            print(json.dumps({"function": name, "init_ms": init, "first_response_ms": first, "max_ms": worst,
                              "peak_rss_mib": rss, "kind": last["kind"], "body": last["body"]}))
        else:
            summary = f"{last['kind']}: {last['body'][:70]}"
            print(f"{name:<10} {init:>9.1f} {first:>14.1f} {worst:>8.1f} {rss:>13.1f}  {summary}")


if __name__ == "__main__":
    main()
