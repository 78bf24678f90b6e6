"""A private single-node Slurm (22.05, Debian's slurmctld, slurmd, slurm-client and munge) for the tests:
every daemon runs in the foreground as a child of the test, on free loopback ports, with its files in one
scratch directory, and is stopped by its PID when the `with` block ends, whatever happens. The system's own
Slurm and munge (if any) are not touched: commands find this cluster through SLURM_CONF.

    with LocalSlurm(workdir) as slurm:
        job = slurm.sbatch(["--ntasks=2", "jobs/slurm.sbatch", "x.ini"], cwd=repo)
        slurm.wait(job, "COMPLETED")
"""
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import time

PACKAGES = "slurmctld slurmd slurm-client munge"


def _die_with_parent():
    """In the daemon's process before exec: SIGKILL it when the test dies, even of SIGKILL (a CTest timeout)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlurmError(RuntimeError):
    pass


class LocalSlurm:
    def __init__(self, workdir):
        self.dir = os.path.abspath(workdir)
        self.procs = []
        self.conf = os.path.join(self.dir, "slurm.conf")
        self.env = dict(os.environ, SLURM_CONF=self.conf)

    # ------------------------------------------------------------------ start and stop

    def __enter__(self):
        missing = [c for c in ("munged", "slurmctld", "slurmd", "sbatch") if not shutil.which(c, path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", ""))]
        if missing:
            raise SlurmError(f"{', '.join(missing)} not found: install Debian's {PACKAGES} (tools/quickstart.sh test does)")
        self._kill_strays()  # of an earlier run in the same directory that was killed before its clean-up
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _daemon(self, name, cmd):
        log = open(os.path.join(self.dir, name + ".out"), "w")
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True, preexec_fn=_die_with_parent)
        self.procs.append((name, p))
        return p

    def _wait_for(self, what, ok, timeout):
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            for name, p in self.procs:
                if p.poll() is not None:
                    raise SlurmError(f"{name} exited with {p.returncode} while waiting for {what}:\n{self.logs(name)}")
            if ok():
                return
            time.sleep(0.2)
        raise SlurmError(f"timed out after {timeout} s waiting for {what}:\n{self.logs()}")

    def _start(self):
        d = self.dir
        for sub in ("munge", "state", "spool", "log"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.chmod(os.path.join(d, "munge"), 0o755)
        key = os.path.join(d, "munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        self.munge_socket = os.path.join(d, "munge", "socket")
        self._daemon("munged", ["munged", "--foreground", "--force", f"--socket={self.munge_socket}", f"--key-file={key}",
                                f"--pid-file={d}/munge/pid", f"--seed-file={d}/munge/seed", f"--log-file={d}/log/munged.log"])
        self._wait_for("munged's socket", lambda: os.path.exists(self.munge_socket), 15)

        # The node as slurmd sees it (CPUs, sockets, memory), so that it registers without being drained.
        node = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, env=self.env, check=True).stdout.split("\n")[0]
        m = re.match(r"NodeName=(\S+)\s+(.*)", node)
        if not m:
            raise SlurmError(f"cannot read 'slurmd -C': {node!r}")
        self.node = m.group(1)
        with open(self.conf, "w") as f:
            f.write(f"""# A private single-node cluster for the tests (tests/jobs/slurm_local.py).
ClusterName=mctest
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.munge_socket}
CredType=cred/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SchedulerParameters=sched_interval=1
KillWait=15
MinJobAge=3600
NodeName={self.node} NodeAddr=127.0.0.1 {m.group(2)} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")
        self._daemon("slurmctld", ["slurmctld", "-D", "-i"])
        self._wait_for("slurmctld", lambda: self._cmd(["sinfo", "-h"], check=False).returncode == 0, 30)
        self._daemon("slurmd", ["slurmd", "-D", "-N", self.node])
        self._wait_for("the node to be idle", lambda: self._cmd(["sinfo", "-h", "-o", "%t"], check=False).stdout.strip() == "idle", 30)

    def stop(self):
        """Cancel every job, then stop the daemons by PID (SIGTERM, SIGKILL after 10 s), then any job step
        process of this cluster that outlived them."""
        if any(n == "slurmctld" and p.poll() is None for n, p in self.procs):
            self._cmd(["scancel", "--full", "--user=root"], check=False)
            t_end = time.monotonic() + 20
            while time.monotonic() < t_end and self._cmd(["squeue", "-h"], check=False).stdout.strip():
                time.sleep(0.5)
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []
        self._kill_strays()

    def _kill_strays(self):
        for pid in self._stray_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _stray_pids(self):
        """Processes whose environment names this cluster's configuration (slurmstepd, job scripts)."""
        mark = ("SLURM_CONF=" + self.conf).encode() + b"\0"
        pids = []
        for p in os.listdir("/proc"):
            if p.isdigit() and int(p) != os.getpid():
                try:
                    with open(f"/proc/{p}/environ", "rb") as f:
                        if mark in f.read() + b"\0":
                            pids.append(int(p))
                except OSError:
                    pass
        return pids

    # ------------------------------------------------------------------ commands

    def _cmd(self, args, check=True, timeout=30, **kw):
        r = subprocess.run(args, capture_output=True, text=True, env=kw.pop("env", self.env), timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise SlurmError(f"{' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def logs(self, only=None):
        out = []
        for name in ("munged", "slurmctld", "slurmd"):
            if only and name != only:
                continue
            for path in (os.path.join(self.dir, name + ".out"), os.path.join(self.dir, "log", name + ".log")):
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        out.append(f"--- {path} (end)\n" + "".join(f.readlines()[-15:]))
        return "\n".join(out)

    def sbatch(self, args, cwd, env=None):
        """Submit; return the job id."""
        r = self._cmd(["sbatch", "--parsable", *args], cwd=cwd, env=dict(self.env, **(env or {})))
        return r.stdout.strip().split(";")[0]

    def job(self, job_id):
        """scontrol's fields of a job, as a dict (JobState, Restarts, Reason, ExitCode, ...)."""
        r = self._cmd(["scontrol", "-o", "show", "job", str(job_id)])
        return dict(kv.split("=", 1) for kv in r.stdout.split() if "=" in kv)

    def wait(self, job_id, states, timeout, release_after=15):
        """Wait until the job is in one of `states`. A requeued job waits out Slurm's fixed requeue delay
        (Reason BeginTime, 2 minutes); it is released after `release_after` s instead, which leaves slurmd
        time to retire the old run's steps (released at once, the new run's step 0 can be aborted by the
        old one's clean-up). Returns the job's fields."""
        states = {states} if isinstance(states, str) else set(states)
        t_end = time.monotonic() + timeout
        pending_since = None
        while time.monotonic() < t_end:
            j = self.job(job_id)
            if j["JobState"] in states:
                return j
            if j["JobState"] == "PENDING" and j.get("Reason") == "BeginTime":
                pending_since = pending_since or time.monotonic()
                if time.monotonic() - pending_since > release_after:
                    self._cmd(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], check=False)
            else:
                pending_since = None
            time.sleep(0.5)
        raise SlurmError(f"job {job_id} not in {sorted(states)} after {timeout} s: {self.job(job_id).get('JobState')}\n{self.logs()}")

    def scancel(self, job_id, *args):
        self._cmd(["scancel", *args, str(job_id)])
