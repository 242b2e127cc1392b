"""A real gunicorn server on 127.0.0.1 for end-to-end, load and fault tests (and benchmarks)."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """gunicorn wsgi:app with its own instance folder; stop() ends it and its workers."""

    def __init__(self, instance_path, workers=2, port=None, env=None, app="wsgi:app"):
        self.instance_path = str(instance_path)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.app = app
        self.env = dict(os.environ)
        self.env.update({
            "AGORA_INSTANCE_PATH": self.instance_path,
            "AGORA_BASE_URL": self.url,
            "AGORA_SECRET_KEY": "live-test-secret",
            # The browser tests use the demo staff accounts, which have no second factor.
            "AGORA_STAFF_SECOND_FACTOR": "0",
            # Passkeys need a host name as relying party (browsers refuse 127.0.0.1): with one,
            # the pages carry their passkey parts, so axe and the other browser tests see them.
            # Using a passkey needs the site opened as http://localhost (tests/e2e/test_passkeys.py).
            "AGORA_WEBAUTHN_RP_ID": "localhost",
        })
        self.env.update(env or {})
        self.process = None
        # gunicorn's and the app's log go to a file: a pipe nobody reads blocks every worker
        # once it is full (64 KiB), which a load test reaches quickly.
        self.log_path = os.path.join(self.instance_path, "gunicorn.log")

    def flask(self, *args, check=True):
        """Run `flask --app wsgi ARGS` against this server's instance."""
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT, env=self.env, check=check, capture_output=True, text=True,
        )

    def log(self):
        """What gunicorn and the app logged so far."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start(self, timeout=30):
        os.makedirs(self.instance_path, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"), "--workers", str(self.workers), "--bind",
                 f"127.0.0.1:{self.port}", "--graceful-timeout", "5", "--timeout", "60", self.app],
                cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited: " + self.log()[-3000:])
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not answer in time")

    def worker_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
