namespace Libra.Signals
{
    // What a pending signal tells its receiver: si_code and the first 16 bytes of siginfo_t's union
    // (uapi/asm-generic/siginfo.h), which x86-64 lays out at offsets 16 and 24 of the 128-byte record.
    internal unsafe struct SignalInfo
    {
        internal const int Size = 128;
        // si_code values: kill(2), the kernel itself (SEND_SIG_PRIV: ITIMER_REAL's SIGALRM), a POSIX
        // timer, tkill/tgkill.
        internal const int SI_USER = 0, SI_KERNEL = 0x80, SI_TIMER = -2, SI_TKILL = -6;
        internal const int Uid = 0;     // the application runs as uid 0 (getuid)

        internal int Code;
        // Kernel-only (Linux's si_sys_private): for SI_TIMER, the timer's setting when it fired, so
        // a signal from an earlier setting does not re-arm the timer.
        internal int Private;
        internal ulong Word;            // _kill {si_pid, si_uid}, _timer {si_tid, si_overrun}, or _sigfault.si_addr
        internal ulong Value;           // _timer.si_sigval (and _rt's)

        // kill, tgkill, tkill and the kernel's own signals: who sent it.
        internal static SignalInfo FromProcess(int code, int pid)
        {
            SignalInfo info = default;
            info.Code = code;
            info.Word = (uint)pid | (ulong)(uint)Uid << 32;
            return info;
        }

        // SEND_SIG_PRIV: from the kernel, si_pid and si_uid 0.
        internal static SignalInfo FromKernel()
        {
            SignalInfo info = default;
            info.Code = SI_KERNEL;
            return info;
        }

        internal static SignalInfo FromTimer(int timerId, int setting, ulong value)
        {
            SignalInfo info = default;
            info.Code = SI_TIMER;
            info.Private = setting;
            info.Word = (uint)timerId;
            info.Value = value;
            return info;
        }

        internal static SignalInfo Fault(int code, ulong address)
        {
            SignalInfo info = default;
            info.Code = code;
            info.Word = address;
            return info;
        }

        internal int TimerId => (int)(uint)Word;

        internal void SetOverrun(int overrun) => Word = (Word & 0xffffffff) | (ulong)(uint)overrun << 32;

        // The siginfo_t a handler or rt_sigtimedwait receives.
        internal void WriteTo(byte* record, int signal)
        {
            for (int i = 0; i < Size; i++) record[i] = 0;
            *(int*)(record + 0) = signal;
            *(int*)(record + 8) = Code;
            *(ulong*)(record + 16) = Word;
            *(ulong*)(record + 24) = Value;
        }
    }
}
