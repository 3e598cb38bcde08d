using Libra.Arch.X64;
using Libra.Threads;
using Libra.Time;

namespace Libra.Diagnostics
{
    // What the kernel does on the application's behalf, as running totals: system calls, Side frames
    // each way, thread wake-ups, beside the scheduler's switches and the devices' interrupts. With
    // `libra.counters_ms=N` the kernel logs them all every N ms on one line,
    //   libra: counters: ns=... syscalls=... wakeups=... switches=... side_frames_out=... ...
    // so that the host (bench/Harness) can divide the difference between two lines by the requests
    // served in between: the cost of one request. Off by default: a periodic timer would add
    // interrupts to every boot's own counts.
    internal static unsafe class CostCounters
    {
        internal static ulong Syscalls, Wakeups, SideFramesOut, SideFramesIn;

        // The report's period (libra.counters_ms); 0: no periodic report.
        internal static ulong PeriodMs;

        private static Timer s_timer;

        // Arms the periodic report when one was asked for; called once the scheduler runs timers.
        internal static void StartReporting()
        {
            if (PeriodMs == 0) return;
            Report();
            fixed (Timer* timer = &s_timer) Timers.Start(timer, Clock.Nanoseconds() + PeriodMs * 1_000_000, &Expired, null);
        }

        // From the timer interrupt, interrupts off: the line, then the next deadline one period on.
        private static void Expired(Timer* timer)
        {
            Report();
            Timers.Start(timer, Clock.Nanoseconds() + PeriodMs * 1_000_000, &Expired, null);
        }

        internal static void Report()
        {
            KernelLog.Begin(); KernelLog.Write("counters: ns="); KernelLog.Decimal(Clock.Nanoseconds());
            Field(" syscalls=", Syscalls);
            Field(" wakeups=", Wakeups);
            Field(" switches=", Scheduler.Switches);
            Field(" side_frames_out=", SideFramesOut);
            Field(" side_frames_in=", SideFramesIn);
            Field(" timer_interrupts=", LocalApic.Interrupts);
            Field(" serial_interrupts=", Drivers.Virtio.VirtioSerialDevice.InterruptsTaken);
            Field(" ninep_requests=", Drivers.Virtio.Virtio9pDevice.Requests);
            Field(" ninep_interrupts=", Drivers.Virtio.Virtio9pDevice.InterruptsTaken);
            KernelLog.End();
        }

        private static void Field(string name, ulong value)
        {
            KernelLog.Write(name);
            KernelLog.Decimal(value);
        }
    }
}
