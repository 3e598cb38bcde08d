using Libra.Qemu;

namespace Libra.Tests.Probes;

// One run of a probe program (Apps/Probes): which executable, with which arguments and environment,
// and what it must produce. The same catalog drives the native runs (ProbeNativeTests) and the runs
// on Libra, which must give the same stdout and exit status.
public sealed record ProbeCase(
    // The case's name, unique in the catalog; the expected stdout is expected/<ExpectedStdout>.stdout.
    string Name,
    // The executable's name in artifacts/probes/.
    string Binary,
    // argv[1..]; argv[0] is the executable's path (natively) or name.
    string[] Args,
    // The probe's whole environment: nothing else is passed (natively too).
    IReadOnlyDictionary<string, string> Environment,
    // The exit status as a shell reports it: 128 + N when killed by signal N.
    int ExitStatus,
    // Lines stderr must contain (stderr is otherwise not compared: it carries diagnostics).
    string[] StderrContains,
    string ExpectedStdout,
    // What the case needs beyond the runtime's usual calls: "openssl": dlopen of libssl.so.3 and
    // libcrypto.so.3 (through /etc/ld.so.cache, with file-backed mmap), which .NET uses for
    // RandomNumberGenerator on Linux even in a static executable; on Libra the host's root is
    // exported read-only for it.
    string[]? Needs = null,
    // The probe works in a directory given as its first argument: natively a fresh temp dir, on
    // Libra a fresh host dir exported over 9P as the root, so the argument is "/".
    bool WorksInDirectory = false,
    // Which 9P server exports that directory on Libra: QEMU's own (virtio-9p) or diod (over a
    // virtio-serial port). Natively it makes no difference.
    FileServer FileServer = FileServer.Qemu,
    // The port the probe listens on (its first argument), TCP and UDP: on Libra the machine gets a
    // network (the Side daemon) publishing it both ways and allowing outbound connects.
    int? GuestPort = null)
{
    public IReadOnlyList<string> Requirements => Needs ?? [];

    public override string ToString() => Name;
}

public static class ProbeCatalog
{
    static readonly Dictionary<string, string> NoEnvironment = new();

    public static readonly IReadOnlyList<ProbeCase> All =
    [
        new("hello", "hello", ["one", "two words", "--exit", "3"], new Dictionary<string, string> { ["PROBE_GREETING"] = "hi from the catalog" },
            ExitStatus: 3, StderrContains: ["hello: this line goes to stderr"], ExpectedStdout: "hello"),
        // The same program linked as a static-pie (ET_DYN): the same output.
        new("hello-pie", "hello-pie", ["one", "two words", "--exit", "3"], new Dictionary<string, string> { ["PROBE_GREETING"] = "hi from the catalog" },
            ExitStatus: 3, StderrContains: ["hello: this line goes to stderr"], ExpectedStdout: "hello"),
        new("gc", "gc", [], NoEnvironment, 0, [], "gc"),
        new("memory", "memory", [], NoEnvironment, 0, [], "memory"),
        new("exceptions", "exceptions", [], NoEnvironment, 0, [], "exceptions"),
        // An unhandled exception: the runtime prints it on stderr and aborts (SIGABRT: 128 + 6).
        new("exceptions-unhandled", "exceptions", ["--unhandled"], NoEnvironment, 134,
            ["Unhandled exception. System.InvalidOperationException: level 3"], "exceptions-unhandled"),
        // A fault outside managed code, which the runtime does not turn into an exception: death by
        // SIGSEGV (128 + 11), as a shell reports it.
        new("exceptions-wild-call", "exceptions", ["--wild-call"], NoEnvironment, 139, [], "exceptions-wild-call"),
        new("threads", "threads", [], NoEnvironment, 0, [], "threads"),
        // Real file work on the Linux side: natively in a temp dir, on Libra in a dir exported over 9P.
        new("files", "files", [], NoEnvironment, 0, [], "files", WorksInDirectory: true),
        // The same through diod, which lacks Trenameat and Tunlinkat, over the virtio-serial byte stream;
        // an 8 MiB big file, as that path moves replies 4 KiB at a time (QEMU's chardev reads) and
        // takes twice as long per call under TCG.
        new("files-diod", "files", [], NoEnvironment, 0, [], "files", WorksInDirectory: true, FileServer: FileServer.Diod),
        // An x86-64-v3 (AVX2) build: YMM state must survive preemption and GC suspension signals.
        new("vectors", "vectors", [], NoEnvironment, 0, [], "vectors"),
        new("environment", "environment", ["one", "two words", "--exit-code", "42"], new Dictionary<string, string> { ["PROBE_VALUE"] = "x y" },
            ExitStatus: 42, StderrContains: [], ExpectedStdout: "environment"),
        // poll, select, epoll and eventfd on pipes and counters: readiness, hang-ups, LT/ET/one-shot,
        // readiness present at EPOLL_CTL_ADD, nested instances, sleepers woken by another thread.
        new("readiness", "readiness", [], NoEnvironment, 0, [], "readiness"),
        // AF_UNIX sockets inside the guest through .NET's System.Net.Sockets (its epoll engine) and the
        // raw calls: listen/accept/connect, both directions, half-close, 8 MiB each way, 100 concurrent
        // connections, datagrams, socketpair, MSG_PEEK, options, EPIPE.
        new("sockets", "sockets", [], NoEnvironment, 0, [], "sockets"),
        // TCP through the Side daemon: a listener, clients reaching it over loopback, data both ways,
        // half-close, linger-0 reset, 64 MiB each way at once, 100 concurrent connections, 1,000
        // connect/close cycles with the descriptor count back where it was, a peer that never reads
        // (EAGAIN), a refused connect, blocking and not; then UDP on the same port: unbound and
        // connected clients, EAGAIN, MSG_PEEK, MSG_TRUNC, FIONREAD, poll. The full sizes (1 GiB,
        // 1,000 at once, 10,000 cycles) run by hand (docs/design.md): in the suite, beside the other
        // boots, 1,000 connections at once once stalled the probe (see the note). Its
        // "figure:" lines on stderr give MB/s and connections/s.
        new("network", "network", ["5640", "--transfer", "1024", "--concurrent", "1000", "--cycles", "10000"], NoEnvironment, 0, [], "network", GuestPort: 5640),
        // A static Go program (no libc; Go's own runtime, clone flags and netpoller) working on files
        // over 9P: writes, reads back, 8 goroutines writing files, a pipe read through the netpoller.
        new("gofiles", "gofiles", [], NoEnvironment, 0, [], "gofiles", WorksInDirectory: true),
        new("environment-crypto", "environment", ["--crypto"], NoEnvironment, 0, [], "environment-crypto", Needs: ["openssl"]),
        // A static C program (gcc -static): futex and pipe ping-pongs complete (beside a spinning
        // thread too), spinning threads share the CPU, sleeps and timeouts are never early.
        new("osbench-check", "osbench", ["--check"], NoEnvironment, 0, [], "osbench-check"),
        // The .NET row's operation (await Task.Delay) as checks: osbench-dotnet's --check mode.
        new("osbench-dotnet-check", "osbench-dotnet", ["--check"], NoEnvironment, 0, [], "osbench-dotnet-check"),
        // The same checks with osbench's file rows in a directory (over 9P on Libra: stat, open+read
        // 4 KiB+close, a 4 MiB file written and read back) and its TCP ping-pong over 127.0.0.1:5642.
        new("osbench-check-files-tcp", "osbench", ["--check", "--port", "5642"], NoEnvironment, 0, [], "osbench-check-files-tcp",
            WorksInDirectory: true, GuestPort: 5642),
        // A static C program for what .NET's runtime hides: SIGPIPE from a pipe without a reader kills
        // at its default disposition (128 + 13), and gives EPIPE when ignored or handled.
        new("posix-sigpipe", "posix", ["sigpipe-pipe"], NoEnvironment, 141, [], "posix-sigpipe"),
        new("posix-sigpipe-ignored", "posix", ["sigpipe-ignored"], NoEnvironment, 0, [], "posix-sigpipe-ignored"),
        new("posix-sigpipe-handled", "posix", ["sigpipe-handled"], NoEnvironment, 0, [], "posix-sigpipe-handled"),
        // A static C program giving system calls bad user pointers (null, unmapped, a kernel address,
        // a range into a hole): every syscall family answers EFAULT (or what Linux answers), never a
        // panic; and a read blocked on a pipe or a unix socket whose buffer another thread unmaps gets
        // EFAULT, a blocked writer the bytes it had written (Libra's copies recover their page faults).
        new("faults-pointers", "faults", ["pointers"], NoEnvironment, 0, [], "faults-pointers"),
        new("faults-unmapped", "faults", ["unmapped"], NoEnvironment, 0, [], "faults-unmapped"),
        // Pipes until EMFILE or ENFILE (descriptors raised to 4096), then all closed and 10,000 more
        // opened and closed (ResourceLimitTests runs it in a machine too small for them all).
        new("faults-pipes", "faults", ["pipes"], NoEnvironment, 0, [], "faults-pipes"),
        // The same with unix stream socketpairs (two 64 KiB rings each): ENOMEM counts as the limit too.
        new("faults-socketpairs", "faults", ["socketpairs"], NoEnvironment, 0, [], "faults-socketpairs"),
        // A /tmp file write whose buffer runs into a hole: the pages before it, and the file grown by
        // those only (Linux's generic_perform_write; on Libra /tmp is its tmpfs).
        new("faults-partial", "faults", ["partial"], NoEnvironment, 0, [], "faults-partial"),
        // 200 rounds of making and dropping what costs kernel memory, everything closed after; any
        // failure but a memory errno is printed (ResourceLimitTests runs it with allocations failing).
        new("faults-churn", "faults", ["churn"], NoEnvironment, 0, [], "faults-churn"),
        // Symbolic-link loops (a -> b -> a, self -> self) and chains of 40 and 41 links: ELOOP past
        // Linux's 40 follows, in tmpfs and on both 9P servers (a loop once cost a double fault).
        new("links", "links", [], NoEnvironment, 0, [], "links"),
        new("links-share", "links", [], NoEnvironment, 0, [], "links", WorksInDirectory: true),
        new("links-diod", "links", [], NoEnvironment, 0, [], "links", WorksInDirectory: true, FileServer: FileServer.Diod),
        // The 9P fuzzer's workload (build.ps1 fuzz9p) with honest replies: two threads of small file
        // calls at once, every one right (the path cache once gave them each other's fids).
        new("fileloop-share", "fileloop", ["300", "2"], NoEnvironment, 0, [], "fileloop", WorksInDirectory: true),
        new("fileloop-diod", "fileloop", ["300", "2"], NoEnvironment, 0, [], "fileloop", WorksInDirectory: true, FileServer: FileServer.Diod),
        // The vector registers a thread holds (XMM, the YMM upper halves, MXCSR, the x87 control
        // word) are there after a system call: the SYSCALL path saves only XMM0-15 and the rest at a
        // switch or a signal (LibraKernel/Arch/X64/UserVectorState.cs).
        new("posix-vector-state", "posix", ["vector-state"], NoEnvironment, 0, [], "posix-vector-state"),
        // /proc/self/limits laid out as Linux prints it, its open files and stack rows equal to
        // getrlimit's before and after setrlimit (values normalised: they differ between hosts).
        new("posix-limits", "posix", ["limits"], NoEnvironment, 0, [], "posix-limits"),
        // A static C program on the file systems: tmpfs at /tmp (create, write, read, rename, unlink,
        // mmap, hard links and st_nlink, O_TMPFILE, SEEK_DATA/SEEK_HOLE), the mount table (EXDEV
        // across mounts, ".." across a mount point, /proc/mounts, /etc/mtab), /dev/stdout,
        // /proc/cpuinfo, and fcntl record and OFD locks. The table itself differs from the host's;
        // the probe prints what a program sees of it, not the table.
        new("vfs", "vfs", [], NoEnvironment, 0, [], "vfs"),
        // A static C program on the timer and signal-wait calls: alarm, setitimer/getitimer, POSIX timers
        // (SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE, absolute deadlines, intervals and overruns),
        // timerfd under read, poll, select and epoll, pause, rt_sigsuspend, rt_sigtimedwait, kill to
        // oneself (SI_USER) against tgkill (SI_TKILL), and which interrupted calls SA_RESTART restarts.
        new("timers", "timers", [], NoEnvironment, 0, [], "timers"),
        // A static C program on TCP between two sockets of one program over 127.0.0.1 (on Libra a
        // connection inside the guest, Shims/Net/GuestLoopback.cs): each end's addresses, data both
        // ways, poll and epoll readiness, half-close, EPIPE, a non-blocking connect (EINPROGRESS, then
        // writable, then 0 and EISCONN), resets (bytes left unread, linger 0, a write to a closed
        // peer, a listener closed before accepting), a peer that never reads, a refused connect.
        new("loopback", "loopback", ["5644"], NoEnvironment, 0, [], "loopback", GuestPort: 5644),
    ];

    // Probes a test of their own drives instead of the catalog (an executable in artifacts/probes/
    // and an expected stdout of the same name): `kestrel` needs a client on the host (KestrelProbeTests).
    public static readonly IReadOnlyList<string> DrivenByTheirOwnTests = ["kestrel"];

    // Programs published beside the probes that are not probes (no expected stdout): the syscall
    // fuzzer, driven by `build.ps1 fuzz` and FuzzTests.
    public static readonly IReadOnlyList<string> Tools = ["fuzz"];

    public static ProbeCase Get(string name) => All.Single(c => c.Name == name);

    // For xunit: [MemberData(nameof(ProbeCatalog.Names), MemberType = typeof(ProbeCatalog))].
    public static IEnumerable<object[]> Names => All.Select(c => new object[] { c.Name });

    // The executables named by the catalog (each once).
    public static IEnumerable<string> Binaries => All.Select(c => c.Binary).Distinct();

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "build.ps1"))) return dir.FullName;
            throw new InvalidOperationException("cannot find the repository root (build.ps1) above " + AppContext.BaseDirectory);
        }
    }

    public static string ExpectedStdoutPath(ProbeCase probe) =>
        Path.Combine(RepositoryRoot, "tests/Libra.Tests/Probes/expected", probe.ExpectedStdout + ".stdout");

    public static string ExpectedStdout(ProbeCase probe) => File.ReadAllText(ExpectedStdoutPath(probe));
}
