"""Drive gophernotes kernels from Python: what two_kernels.py and snippets.py share.

Needs the kernel that run.sh installs: JUPYTER_PATH must name its folder
(run.sh sets it when it runs these scripts). System python3 with
jupyter-client (Debian's python3-jupyter-client, which jupyter-nbconvert pulls in).
"""

import queue
import sys
import time

try:
    from jupyter_client.manager import KernelManager
except ImportError:
    sys.exit("kernels.py: python module jupyter_client is missing: apt-get install jupyter-client")

KERNEL = "gophernotes"
STARTUP_TIMEOUT = 120


class Kernel:
    """One gophernotes kernel and a blocking client to it."""

    def __init__(self, label):
        self.label = label
        self.km = KernelManager(kernel_name=KERNEL)
        self.km.start_kernel()
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=STARTUP_TIMEOUT)

    def execute(self, code, timeout):
        """Runs code as one cell. Returns a Result (status, stdout, stderr, error, images)."""
        res = Result()
        start = time.monotonic()
        msg_id = self.kc.execute(code, store_history=True, allow_stdin=False)
        deadline = start + timeout
        idle = False
        while not idle:
            left = deadline - time.monotonic()
            if left <= 0:
                res.status, res.error = "timeout", "no reply within %ds" % timeout
                break
            try:
                msg = self.kc.get_iopub_msg(timeout=min(left, 10))
            except queue.Empty:
                if not self.km.is_alive():
                    res.status, res.error = "died", "the kernel process exited (see its log above)"
                    break
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                if content.get("name") == "stderr":
                    res.stderr += content.get("text", "")
                else:
                    res.stdout += content.get("text", "")
            elif kind in ("display_data", "execute_result"):
                res.outputs.append(content.get("data", {}))
            elif kind == "error":
                res.error = "%s: %s" % (content.get("ename", ""), content.get("evalue", ""))
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
        while res.status not in ("timeout", "died"):
            # The shell channel may still hold replies to earlier requests (kernel_info from
            # wait_for_ready): take the reply to this one.
            try:
                reply = self.kc.get_shell_msg(timeout=max(1, deadline - time.monotonic()))
            except queue.Empty:
                res.status, res.error = "timeout", "no execute_reply"
                break
            if reply["parent_header"].get("msg_id") != msg_id:
                continue
            res.status = reply["content"].get("status", "?")
            if res.status == "error" and not res.error:
                c = reply["content"]
                res.error = "%s: %s" % (c.get("ename", ""), c.get("evalue", ""))
            break
        res.seconds = time.monotonic() - start
        return res

    def shutdown(self):
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=False)


class Result:
    def __init__(self):
        self.status = "?"
        self.stdout = ""
        self.stderr = ""
        self.error = ""
        self.outputs = []
        self.seconds = 0.0

    def ok(self):
        return self.status == "ok" and not self.error

    def describe(self):
        parts = ["status %s after %.1fs" % (self.status, self.seconds)]
        if self.error:
            parts.append("error: " + self.error)
        if self.stdout.strip():
            parts.append("stdout:\n" + self.stdout.rstrip())
        if self.stderr.strip():
            parts.append("stderr:\n" + self.stderr.rstrip())
        return "\n".join(parts)
