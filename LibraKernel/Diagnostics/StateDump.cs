using Libra.Arch.X64;
using Libra.Threads;
using Libra.Time;

namespace Libra.Diagnostics
{
    // What the kernel is doing, on demand: a non-maskable interrupt (QEMU's `inject-nmi`, sent by
    // Libra.Qemu on SIGQUIT and before it kills a boot that timed out) prints every thread with the
    // call it is in and what it waits for, every open descriptor with its readiness, and the
    // network link's sockets, then lets the kernel go on, like a JVM's thread dump. It runs in the
    // NMI, so it reads state without locks and allocates nothing: a line may show a state that was
    // changing at that instant.
    internal static unsafe class StateDump
    {
        internal static void Print(InterruptFrame* frame)
        {
            ulong now = Clock.Nanoseconds();
            KernelLog.Begin(); KernelLog.Write("dump: state at "); KernelLog.Thousandths(now / 1000); KernelLog.Write(" ms; interrupted ");
            KernelLog.Write(frame->FromUser ? "the application at " : "the kernel at "); KernelLog.Hex(frame->Rip);
            KernelLog.Write(Scheduler.Current != null ? ", current thread " : ", no current thread");
            if (Scheduler.Current != null) KernelLog.Decimal((ulong)Scheduler.Current->Tid);
            KernelLog.Write("; "); KernelLog.Decimal(CostCounters.Syscalls); KernelLog.Write(" system calls, "); KernelLog.Decimal(CostCounters.Wakeups);
            KernelLog.Write(" wake-ups, "); KernelLog.Decimal(Scheduler.Switches); KernelLog.Write(" switches so far"); KernelLog.End();
            Threads(now);
            Shims.FileDump.Print();
            Shims.PageCache.Report("dump: ");
            Drivers.Virtio.VirtioSerialDevice.Dump();
            Shims.Net.NetworkLink.Dump();
            KernelLog.Begin(); KernelLog.Write("dump: end"); KernelLog.End();
        }

        private static void Threads(ulong now)
        {
            for (int i = 0; i < ThreadTable.Count; i++)
            {
                Thread* thread = ThreadTable.At(i);
                if (thread == null || !thread->IsAlive) continue;
                KernelLog.Begin(); KernelLog.Write("dump: thread "); KernelLog.Decimal((ulong)thread->Tid); KernelLog.Write(" '");
                KernelLog.WriteAscii(thread->Name.Bytes, Thread.NameLength); KernelLog.Write("' ");
                KernelLog.Write(thread->State == ThreadState.Running ? "running" : thread->State == ThreadState.Runnable ? "runnable" : "blocked");
                if (thread->State == ThreadState.Blocked)
                {
                    KernelLog.Write(" in ");
                    if (Shims.SyscallTable.Lookup(thread->SyscallNumber, out Shims.SyscallEntry entry)) KernelLog.Write(entry.Name);
                    else { KernelLog.Write("call "); KernelLog.Decimal(thread->SyscallNumber); }
                    if (thread->Futex.Queued) { KernelLog.Write(", futex "); KernelLog.Hex(thread->Futex.Key); }
                    if (thread->WakeTimer.Queued)
                    {
                        KernelLog.Write(", wakes in ");
                        KernelLog.Thousandths(thread->WakeTimer.Deadline > now ? (thread->WakeTimer.Deadline - now) / 1000 : 0);
                        KernelLog.Write(" ms");
                    }
                    else KernelLog.Write(", no deadline");
                    if (thread->Uninterruptible) KernelLog.Write(", uninterruptible");
                    KernelLog.Write(", user rip "); KernelLog.Hex(thread->UserFrame->Rip);
                }
                if (thread->PendingSignals != 0) { KernelLog.Write(", signals pending "); KernelLog.Hex(thread->PendingSignals); }
                KernelLog.End();
            }
        }
    }
}
