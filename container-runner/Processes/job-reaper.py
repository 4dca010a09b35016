"""The EnvFabric runner's job reaper: runs one job process and reports what the kernel measured of it.

    python3 -I -S job-reaper.py [--cpus 0,1] [--rlimit-as BYTES] REPORT_FILE PROGRAM [ARG...]

.NET's Process reaps its own children, so the runner cannot wait4() a job itself. This reaper takes the place
setsid had: it leads a new session and process group (the runner's SIGSTOP, SIGCONT, SIGTERM and SIGKILL to
the group reach it and the whole job), forks the job, waits for it with wait4() and writes the job's rusage to
REPORT_FILE, then ends as the job ended: the same exit code, or the job's terminating signal raised on itself.
It ignores SIGTERM, SIGINT and SIGHUP so it outlives the job, and forwards nothing: group signals already
reach the job. Report: one line of key=value pairs (maxrss_kb, cpu_seconds, status, exec_errno); ru_maxrss
counts from the fork, so it is never below this process's own size then (~5 MB).

A run quota reaches the job here, in the child before exec (so every process the job starts inherits it): --cpus
pins it to those cores (sched_setaffinity), --rlimit-as sets its address-space limit (RLIMIT_AS, soft and hard).
A limit that cannot be set fails the start (exit 126) with the reason on stderr: a quota is never silently dropped.

Needs python3's standard library (posix.wait4 builds its result with resource, which python3-minimal lacks); it is
imported only after the fork, while the job starts. The builtin modules posix and _signal stand in for os and
signal, whose Python layers (os.path, collections.abc, enums) would cost ~5 ms more at every start.
"""
import errno
import posix
import sys

import _signal as signal

# glibc's execvp goes on to the next PATH entry after these; any other error ends the search.
_SEARCH_ON = {errno.ENOENT, errno.ENOTDIR, errno.ESTALE, errno.ENODEV, errno.ETIMEDOUT, errno.EACCES}


def _exec(argv):
    """execvp on the job's PATH, as setsid did (glibc: EACCES remembered, a file without #! run by /bin/sh)."""
    name = argv[0]
    if "/" in name:
        candidates = [name]
    else:
        search = posix.environ.get(b"PATH", b"/bin:/usr/bin").decode("utf-8", "surrogateescape")
        candidates = [(d or ".") + "/" + name for d in search.split(":")]

    denied = None
    for path in candidates:
        try:
            posix.execv(path, argv)
        except OSError as e:
            if e.errno == errno.ENOEXEC:
                posix.execv("/bin/sh", ["/bin/sh", path, *argv[1:]])
            if e.errno not in _SEARCH_ON:
                raise
            if e.errno == errno.EACCES:
                denied = e
            last = e
    raise denied or last


def _limit(cpus, address_space):
    """The run's quota on this process, before exec; a failure ends the start with the reason."""
    try:
        if cpus:
            posix.sched_setaffinity(0, cpus)
        if address_space:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    except (OSError, ValueError) as e:
        posix.write(2, f"envfabric: could not apply the run's quota: {e}\n".encode())
        posix._exit(126)


def _child(argv, failed, cpus, address_space):
    for s in signal.valid_signals():
        if s not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(s, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    _limit(cpus, address_space)
    try:
        _exec(argv)
    except OSError as e:
        posix.write(failed, str(e.errno).encode())
        posix.write(2, f"envfabric: failed to execute {argv[0]}: {e.strerror}\n".encode())
        posix._exit(127 if e.errno == errno.ENOENT else 126)


def _options(args):
    """Leading --cpus LIST and --rlimit-as BYTES; the report path and the job's argv follow."""
    cpus, address_space = None, None
    while args and args[0] in ("--cpus", "--rlimit-as"):
        if args[0] == "--cpus":
            cpus = {int(c) for c in args[1].split(",")}
        else:
            address_space = int(args[1])
        args = args[2:]
    return cpus, address_space, args


def main():
    cpus, address_space, args = _options(sys.argv[1:])
    report, argv = args[0], args[1:]
    runner = posix.getppid()
    posix.setsid()
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)

    # Close-on-exec: the child's end closes at a successful exec; a failed one writes its errno first.
    read_end, write_end = posix.pipe()
    pid = posix.fork()
    if pid == 0:
        posix.close(read_end)
        try:
            _child(argv, write_end, cpus, address_space)
        finally:
            posix._exit(126)

    posix.close(write_end)
    import resource  # for wait4's result, loaded while the job starts

    exec_errno = int(posix.read(read_end, 16) or 0)
    posix.close(read_end)
    _, status, usage = posix.wait4(pid, 0)

    # The report only matters to the runner that started this process (none reads it after a runner crash); the
    # exit status matters more than the report, so a report that cannot be written is left out.
    if posix.getppid() == runner:
        line = f"maxrss_kb={usage.ru_maxrss} cpu_seconds={usage.ru_utime + usage.ru_stime:.6f} status={status} exec_errno={exec_errno}\n"
        try:
            fd = posix.open(report, posix.O_WRONLY | posix.O_CREAT | posix.O_EXCL | posix.O_NOFOLLOW, 0o600)
            posix.write(fd, line.encode())
            posix.close(fd)
        except OSError:
            pass

    if posix.WIFSIGNALED(status):
        sig = posix.WTERMSIG(status)
        # The job dumped its own core if it was going to; this process must not dump one of its own.
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, (sig,))
        posix.kill(posix.getpid(), sig)
        posix._exit(128 + sig)
    posix._exit(posix.WEXITSTATUS(status))


main()
