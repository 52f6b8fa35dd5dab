"""Run the student's kernel: start it (sandboxed), execute cells into notebook outputs, send the checker's
requests, and restart it when it dies or hangs.

The kernel is :mod:`course_utils.grader.kernel` (a plain IPython kernel with a memory cap), started in
bubblewrap when ``sandbox="bwrap"`` (:mod:`course_utils.grader.sandbox`), over Unix sockets, with a clean
environment. Everything read from it is untrusted: outputs are stored for display only, and replies to
requests are decoded as plain data (:mod:`course_utils.grader.wire`).
"""
from __future__ import annotations

import queue
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

from course_utils.grader import agent, sandbox, wire
from course_utils.grader import limits as limits_

KERNEL_DIED = "the kernel stopped (it exited, was killed, ran out of memory or crashed)"
#: outputs kept from the student's kernel: their text is escaped in the feedback; other types are dropped
KEPT_MIME = ("text/plain", "image/png", "image/jpeg")
#: output kept from one cell, and from a whole notebook (characters of its messages: text, images); the
#: rest is dropped
MAX_OUTPUT = 5_000_000
MAX_NOTEBOOK_OUTPUT = 40_000_000


class KernelDied(RuntimeError):
    """The kernel stopped while running a cell or a request."""


class KernelTimeout(RuntimeError):
    """A cell or a request ran over its time limit (the kernel was interrupted or restarted)."""


class _Manager(KernelManager):
    """A kernel manager that starts :mod:`course_utils.grader.kernel`, inside bubblewrap when asked."""

    sandbox_mode = "none"
    memory_mb = 0
    sockets: Path | None = None
    limits: limits_.Limits | None = None
    group: limits_.KernelGroup | None = None  # the kernel's cgroup(s); None: rlimits (or no limits)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        if "ipykernel_launcher" in cmd:
            i = cmd.index("ipykernel_launcher")
            memory = ["--memory", str(self.memory_mb)] if self.memory_mb else []
            if self.limits is not None:  # with a cgroup, only the file size (the socket folder is on disk)
                lim = self.limits
                memory += ["--rlimits", f"{lim.memory_mb},{lim.pids},{lim.disk_mb}" if self.group is None
                           else f"0,0,{lim.disk_mb}"]
            cmd = cmd[:i] + ["course_utils.grader.kernel", *memory] + cmd[i + 1:]
        cmd[0] = sys.executable if cmd[0] in ("python", "python3") else cmd[0]
        if self.sandbox_mode == "bwrap":
            workdir = Path((self._launch_args or {}).get("cwd") or ".")
            assert self.sockets is not None
            disk = self.limits.disk_mb if self.limits is not None else 0
            cmd = sandbox.bwrap_command(cmd, workdir, self.sockets, disk)
        if self.group is not None:
            cmd = self.group.launcher() + cmd
        return cmd


class StudentKernel:
    """One student kernel, restartable.

    Args:
        workdir: the kernel's working folder (it holds the student's notebook, nothing else).
        sockets: a short folder path for the kernel's sockets (Unix socket paths are limited to 107 bytes).
        sandbox: "bwrap" or "none"; memory: the memory cap in MB (0: none).
    """

    def __init__(self, workdir: Path, sockets: Path, sandbox: str = "none", memory: int = 0,
                 limits: limits_.Limits | None = None, limits_mode: str = "auto") -> None:
        self.workdir, self.sockets, self.sandbox, self.memory = workdir, sockets, sandbox, memory
        self.limits, self.limits_mode = limits, limits_mode
        self.group: limits_.KernelGroup | None = None
        self.peak_mb: float | None = None  # the most memory a cgroup of this kernel held
        self.km: _Manager | None = None
        self.kc: Any = None
        self.generation = 0
        self.output_left = MAX_NOTEBOOK_OUTPUT

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 120) -> None:
        """Start a new kernel and wait until it answers."""
        self.shutdown()
        self.generation += 1
        self.sockets.mkdir(parents=True, exist_ok=True)
        if self.sandbox == "bwrap":
            sandbox.lock_folder(self.sockets, False)  # the new kernel makes its sockets there
        km = _Manager(kernel_name="python3")
        km.sandbox_mode, km.memory_mb, km.sockets = self.sandbox, self.memory, self.sockets
        if self.limits is not None:
            mech = limits_.mechanism(self.limits_mode)
            km.limits = self.limits
            if mech.kind != "rlimits":
                try:
                    self.group = km.group = limits_.KernelGroup(mech, self.limits)
                except OSError:  # this kernel gets the per-process fallback instead
                    self.group = km.group = None
        km.transport = "ipc"
        km.ip = str(self.sockets / f"k{self.generation}")
        km.connection_file = str(self.sockets / f"kernel{self.generation}.json")
        home = self.sockets / "home" if self.sandbox != "bwrap" else Path("/tmp/home")
        if self.sandbox != "bwrap":
            home.mkdir(exist_ok=True)
        km.start_kernel(cwd=str(self.workdir), env=sandbox.kernel_env(home))
        if km.kernel_spec is not None:
            km.kernel_spec.interrupt_mode = "message"  # a signal would reach bubblewrap, not the kernel
        self.km, self.kc = km, km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=timeout)
        except RuntimeError as err:
            self.shutdown()
            raise KernelDied(f"the kernel did not start: {err}") from None
        if self.sandbox == "bwrap":
            sandbox.lock_folder(self.sockets, True)  # its sockets exist: nothing more for it to write there

    def shutdown(self) -> None:
        """Stop the kernel (killing it: nothing it holds is needed)."""
        channel, self._channel, self._channel_msg = getattr(self, "_channel", None), None, None
        if channel is not None:
            channel.close()
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:  # noqa: BLE001
                pass
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001
                pass
            try:
                self.km.cleanup_resources()
            except Exception:  # noqa: BLE001
                pass
        self.km = self.kc = None
        if self.group is not None:
            peak = self.group.peak_memory_mb()
            if peak is not None:
                self.peak_mb = max(self.peak_mb or 0.0, peak)
            self.group.remove()
            self.group = None

    def alive(self) -> bool:
        return self.km is not None and self.km.is_alive()

    # ------------------------------------------------------------------ one execute_request
    def _execute(self, code: str, timeout: float, store_history: bool,
                 replies: bool = False) -> tuple[list[dict], dict | None]:
        """Run ``code``; returns (the iopub messages of this request, the execute_reply content).

        Raises:
            KernelDied: the kernel stopped.
            KernelTimeout: over ``timeout`` seconds (the kernel is interrupted; if it does not stop within
                5 s it is killed, and the next call must restart it).
        """
        if self.kc is None:
            raise KernelDied("no kernel")
        msg_id = self.kc.execute(code, store_history=store_history, allow_stdin=False, stop_on_error=False)
        return self._wait(msg_id, timeout, replies=replies)

    def _wait(self, msg_id: str, timeout: float, keep: bool = True,
              replies: bool = False) -> tuple[list[dict], dict | None]:
        deadline = time.monotonic() + timeout
        messages: list[dict] = []
        reply: dict | None = None
        idle = False
        interrupted_at: float | None = None
        size, cap, dropped = 0, min(MAX_OUTPUT, self.output_left), 0
        while not (idle and reply is not None):
            now = time.monotonic()
            if interrupted_at is None and now > deadline:
                interrupted_at = now
                self._interrupt()
            if interrupted_at is not None and now > interrupted_at + 5:
                self.shutdown()
                raise KernelTimeout(f"over the time limit of {timeout:g} s")
            if not self.alive():
                raise KernelDied(KERNEL_DIED)
            if not idle:
                try:
                    msg = self.kc.get_iopub_msg(timeout=0.05 if reply is None else 0.2)
                except queue.Empty:
                    msg = None
                if msg is not None and msg.get("parent_header", {}).get("msg_id") == msg_id:
                    kind = msg["msg_type"]
                    if kind == "status" and msg["content"].get("execution_state") == "idle":
                        idle = True
                    elif kind == "display_data" and agent.MIME in msg["content"].get("data", {}):
                        if replies:
                            messages.append(msg)  # a reply to the checker's request: never dropped
                    elif keep and kind not in ("execute_input", "status"):
                        # a print loop must not fill the grader's memory or the graded notebook: each message
                        # counts its content and 2 kB of overhead, and one that does not fit is dropped whole
                        cost = len(str(msg.get("content", ""))) + 2048
                        if size + cost <= cap:
                            size += cost
                            messages.append(msg)
                        else:
                            dropped += cost
            if reply is None:
                try:
                    shell = self.kc.get_shell_msg(timeout=0 if not idle else 0.2)
                    if shell.get("parent_header", {}).get("msg_id") == msg_id:
                        reply = shell["content"]
                except queue.Empty:
                    pass
        self.output_left -= size
        if dropped:
            messages.append({"msg_type": "stream", "content": {"name": "stderr", "text": (
                f"\n... (course-grade kept {size / 1e6:.1f} MB of this cell's output and dropped the other "
                f"{dropped / 1e6:.1f} MB: at most {MAX_OUTPUT / 1e6:g} MB per cell and "
                f"{MAX_NOTEBOOK_OUTPUT / 1e6:g} MB per notebook) ...\n")}})
        if interrupted_at is not None:
            raise KernelTimeout(f"over the time limit of {timeout:g} s (interrupted)")
        return messages, reply

    def _interrupt(self) -> None:
        try:
            self.km.interrupt_kernel()
        except Exception:  # noqa: BLE001
            pass

    # ------------------------------------------------------------------ the request channel
    def open_channel(self, timeout: float = 60) -> bool:
        """Ask the agent to serve requests over a Unix socket (one ``execute_request`` that lasts until
        :meth:`close_channel`): a request then costs a socket round trip instead of a Jupyter message.

        Returns:
            False when the kernel did not connect (requests then go as ``execute_request``, slower).
        """
        import socket

        self.close_channel()
        path = self.sockets / f"a{self.generation}"
        path.unlink(missing_ok=True)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        server.listen(1)
        server.settimeout(0.2)
        self._channel_msg = self.kc.execute(
            f"__import__('course_utils.grader.agent', fromlist=['serve_channel']).serve_channel({str(path)!r})",
            store_history=False, allow_stdin=False, stop_on_error=False)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and self.alive():
                try:
                    conn, _ = server.accept()
                    break
                except TimeoutError:
                    continue
            else:
                return False
        finally:
            server.close()
            path.unlink(missing_ok=True)
        conn.setblocking(True)
        self._channel = conn
        return True

    def close_channel(self) -> None:
        """End the agent's serving request (waits for it, up to 10 s)."""
        conn, self._channel = getattr(self, "_channel", None), None
        msg_id, self._channel_msg = getattr(self, "_channel_msg", None), None
        if conn is not None:
            try:
                _send_frame(conn, wire.dumps({"op": "end"}).encode())
            except OSError:
                pass
            conn.close()
        if msg_id is not None and self.alive():
            try:
                self._wait(msg_id, 10, keep=False)
            except (KernelDied, KernelTimeout):
                pass

    def _channel_request(self, request: dict, timeout: float) -> dict:
        conn = self._channel
        try:
            _send_frame(conn, wire.dumps(request).encode())
            data = _read_frame(conn, time.monotonic() + timeout, self.alive)
        except _Late:
            self._interrupt()  # the student's code gets KeyboardInterrupt; the agent answers and goes on
            try:
                _read_frame(conn, time.monotonic() + 5, self.alive)
            except (_Late, OSError, EOFError):
                self._channel = None
                self.shutdown()
            raise KernelTimeout(f"over the time limit of {timeout:g} s") from None
        except (OSError, EOFError):
            self._channel = None
            if not self.alive():
                raise KernelDied(KERNEL_DIED) from None
            raise wire.WireError("the kernel closed the request channel") from None
        except wire.WireError:
            self._channel = None  # the rest of that reply is still in the socket: drop the channel
            conn.close()
            raise
        reply = wire.loads(data)
        if type(reply) is not dict:
            raise wire.WireError("a reply that is not an object")
        return reply

    # ------------------------------------------------------------------ cells
    def run_cell(self, code: str, timeout: float) -> tuple[list[dict], int | None]:
        """Execute a notebook cell; returns (nbformat outputs, execution count).

        Raises:
            KernelDied, KernelTimeout: as :meth:`_execute` (the outputs so far are lost).
        """
        messages, reply = self._execute(code, timeout, store_history=True)
        count = (reply or {}).get("execution_count")
        return outputs_from(messages), count if type(count) is int else None

    # ------------------------------------------------------------------ requests
    def request(self, request: dict, timeout: float) -> dict:
        """Send one request to :mod:`course_utils.grader.agent` and return its decoded JSON reply (still
        untrusted: the caller decodes the values with :func:`wire.decode`).

        Raises:
            KernelDied, KernelTimeout: as :meth:`_execute`.
            wire.WireError: no reply, or not JSON.
        """
        if getattr(self, "_channel", None) is not None:
            return self._channel_request(request, timeout)
        code = f"__import__('course_utils.grader.agent', fromlist=['serve']).serve({wire.dumps(request)!r})"
        messages, _ = self._execute(code, timeout, store_history=False, replies=True)
        for msg in messages:
            if msg["msg_type"] == "display_data":
                payload = msg["content"].get("data", {}).get(agent.MIME)
                if isinstance(payload, str):
                    reply = wire.loads(payload)
                    if type(reply) is not dict:
                        raise wire.WireError("a reply that is not an object")
                    return reply
        raise wire.WireError("the kernel sent no reply (was the grader's agent replaced?)")


class _Late(Exception):
    pass


def _send_frame(conn: Any, data: bytes) -> None:
    conn.sendall(len(data).to_bytes(8, "big") + data)


def _read_exact(conn: Any, n: int, deadline: float, alive: Any) -> bytes:
    import select

    chunks, got = [], 0
    while got < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _Late()
        ready, _, _ = select.select([conn], [], [], min(left, 0.5))
        if not ready:
            if not alive():
                raise EOFError("the kernel stopped")
            continue
        chunk = conn.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the channel closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read_frame(conn: Any, deadline: float, alive: Any) -> bytes:
    size = int.from_bytes(_read_exact(conn, 8, deadline, alive), "big")
    if size > wire.MAX_BYTES:
        raise wire.WireError("a reply larger than 128 MB")
    return _read_exact(conn, size, deadline, alive)


def outputs_from(messages: list[dict]) -> list[dict]:
    """nbformat outputs built from a request's iopub messages (stream, display, result, error); rich
    outputs keep only :data:`KEPT_MIME` (no HTML, JavaScript or SVG from a student reaches the feedback)."""
    from nbformat.v4 import new_output

    outputs: list[Any] = []
    for msg in messages:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            name = "stderr" if content.get("name") == "stderr" else "stdout"
            text = str(content.get("text", ""))
            if outputs and outputs[-1].output_type == "stream" and outputs[-1].name == name:
                outputs[-1].text += text
            else:
                outputs.append(new_output("stream", name=name, text=text))
        elif kind in ("display_data", "execute_result"):
            data = {k: v for k, v in content.get("data", {}).items() if k in KEPT_MIME and isinstance(v, str)}
            if not data:
                continue
            if kind == "execute_result":
                count = content.get("execution_count")
                outputs.append(new_output("execute_result", data=data, execution_count=count if type(count) is int
                                          else None))
            else:
                outputs.append(new_output("display_data", data=data))
        elif kind == "error":
            outputs.append(new_output("error", ename=str(content.get("ename", ""))[:200],
                                      evalue=str(content.get("evalue", ""))[:4000],
                                      traceback=[str(t)[:4000] for t in content.get("traceback", [])][:50]))
        elif kind == "clear_output":
            outputs.clear()
    for out in outputs:  # a runaway print loop should not make a notebook of gigabytes
        if out.output_type == "stream" and len(out.text) > 100_000:
            out.text = out.text[:50_000] + "\n... (output cut by the grader) ...\n" + out.text[-10_000:]
    return outputs
