"""tools/install_torch.py: which PyTorch build `make install` takes, and that it says so."""
from __future__ import annotations

import http.server
import importlib.util
import threading

import pytest
from conftest import ROOT, free_port

spec = importlib.util.spec_from_file_location("install_torch", ROOT / "tools" / "install_torch.py")
install_torch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install_torch)


def test_cpu_build_from_the_cpu_index_when_it_answers():
    cmd, what = install_torch.command("cpu", index_up=True)
    assert cmd[cmd.index("--extra-index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    assert cmd[-1] == "torch==2.13.0+cpu" and "CPU build" in what and "190 MB" in what
    assert "--quiet" not in cmd and cmd[cmd.index("--progress-bar") + 1] == "on"


def test_cpu_falls_back_to_pips_own_index_and_says_so():
    cmd, what = install_torch.command("cpu", index_up=False)
    assert "--extra-index-url" not in cmd and "--index-url" not in cmd and cmd[-1] == "torch==2.13.0"
    assert "does not answer" in what and "2.7 GB" in what


def test_default_is_plain_pypi():
    cmd, what = install_torch.command("default", index_up=True)
    assert "--extra-index-url" not in cmd and cmd[-1] == "torch==2.13.0" and "TORCH=default" in what


def test_unknown_build_is_refused(capsys):
    assert install_torch.main(["gpu"]) == 2
    assert "TORCH=cpu" in capsys.readouterr().err


def test_nothing_is_installed_when_the_pinned_version_is_there(monkeypatch, capsys):
    monkeypatch.setattr(install_torch, "installed", lambda: "2.13.0+cpu")
    monkeypatch.setattr(install_torch.subprocess, "call", lambda *a, **k: pytest.fail("pip was called"))
    assert install_torch.main([]) == 0
    assert "already installed" in capsys.readouterr().out


def test_reachable_asks_a_real_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):  # noqa: N802 - the http.server API
            self.send_response(404 if "missing" in self.path else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert install_torch.reachable(base + "/whl/cpu")
        assert install_torch.reachable(base + "/missing")  # it answers: a 404 is an answer
    finally:
        server.shutdown()
    assert not install_torch.reachable(f"http://127.0.0.1:{free_port()}/whl/cpu", timeout=2)  # nobody listens
