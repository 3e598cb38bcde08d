using Libra.Arch.X64;
using Libra.Memory;
using Libra.Threads;

namespace Libra.Shims
{
    // Threads: clone/clone3 for pthreads (one thread group in one address space), exit, ids,
    // scheduling queries, and the thread pointer (arch_prctl).
    internal static unsafe class ThreadCalls
    {
        private const ulong CLONE_VM = 0x100, CLONE_SIGHAND = 0x800, CLONE_VFORK = 0x4000, CLONE_THREAD = 0x10000,
            CLONE_SETTLS = 0x80000, CLONE_PARENT_SETTID = 0x100000, CLONE_CHILD_CLEARTID = 0x200000,
            CLONE_CHILD_SETTID = 0x1000000;
        private const int ARCH_SET_GS = 0x1001, ARCH_SET_FS = 0x1002, ARCH_GET_FS = 0x1003, ARCH_GET_GS = 0x1004;
        private const int CloneArgsMinimumSize = 64;

        private static ulong s_interruptExit;

        internal static void Initialize()
        {
            ulong* entries = stackalloc ulong[2];
            Native.GetEntryPoints(entries);
            s_interruptExit = entries[1];
        }

        internal static ulong InterruptExit => s_interruptExit;

        // clone(flags, stack, parent_tid, child_tid, tls): the x86-64 argument order.
        internal static long Clone(SyscallArgs* a) => CreateThread(a->Frame, a->A0, a->A1, a->A2, a->A3, a->A4);

        // clone3(struct clone_args*, size): flags@0, child_tid@16, parent_tid@24, stack@40, stack_size@48, tls@56.
        internal static long Clone3(SyscallArgs* a)
        {
            if (a->A1 < CloneArgsMinimumSize) return -Errno.EINVAL;
            ulong* args = stackalloc ulong[8];
            if (!UserMemory.CopyFromUser(args, a->A0, CloneArgsMinimumSize)) return -Errno.EFAULT;
            ulong stackTop = args[5] == 0 ? 0 : args[5] + args[6];
            return CreateThread(a->Frame, args[0], stackTop, args[3], args[2], args[7]);
        }

        private static long CreateThread(InterruptFrame* frame, ulong flags, ulong stack, ulong parentTid, ulong childTid, ulong tls)
        {
            const ulong threadFlags = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND;
            // A new process (fork, vfork, posix_spawn) has no place in a single-application kernel.
            if ((flags & threadFlags) != threadFlags || (flags & CLONE_VFORK) != 0) return -Errno.ENOSYS;
            if ((flags & CLONE_PARENT_SETTID) != 0 && !UserMemory.IsAccessible(parentTid, 4, write: true)) return -Errno.EFAULT;
            Thread* parent = Scheduler.Current;
            Thread* child = ThreadTable.Create();
            if (child == null) return -Errno.EAGAIN;

            UserVectorState.Save(parent);
            Native.MemMove(child->UserFxState, parent->UserFxState, (nuint)InterruptFrame.StateAreaSize);
            InterruptFrame* childFrame = child->UserFrame;
            *childFrame = *frame;
            childFrame->Rax = 0;
            if (stack != 0) childFrame->Rsp = stack;
            child->FsBase = (flags & CLONE_SETTLS) != 0 ? tls : parent->FsBase;
            child->BlockedSignals = parent->BlockedSignals;
            if ((flags & CLONE_CHILD_CLEARTID) != 0) child->ClearChildTid = childTid;
            // Written before the child runs; a word unmapped since the check is skipped (the thread exists).
            if ((flags & CLONE_PARENT_SETTID) != 0) UserMemory.WriteInt32(parentTid, child->Tid);
            if ((flags & CLONE_CHILD_SETTID) != 0) UserMemory.WriteInt32(childTid, child->Tid);
            Scheduler.Start(child, s_interruptExit);
            return child->Tid;
        }

        // exit(status): this thread ends; clear_child_tid is zeroed and woken (pthread_join waits on it).
        internal static long Exit(SyscallArgs* a)
        {
            Thread* self = Scheduler.Current;
            if (self->ClearChildTid != 0 && UserMemory.WriteInt32(self->ClearChildTid, 0))
                FutexCalls.WakeAddress(self->ClearChildTid, 1);
            if (ThreadTable.LiveCount == 1) Kernel.Exit((int)(a->A0 & 0xff));
            Scheduler.ExitCurrent();
            return 0;
        }

        internal static long ExitGroup(SyscallArgs* a)
        {
            Kernel.Exit((int)(a->A0 & 0xff));
            return 0;
        }

        internal static long SetTidAddress(SyscallArgs* a)
        {
            Scheduler.Current->ClearChildTid = a->A0;
            return Scheduler.Current->Tid;
        }

        internal static long SetRobustList(SyscallArgs* a)
        {
            if (a->A1 != 24) return -Errno.EINVAL;
            Scheduler.Current->RobustList = a->A0;
            Scheduler.Current->RobustListLength = a->A1;
            return 0;
        }

        internal static long GetRobustList(SyscallArgs* a) => -Errno.EPERM;

        // rseq: not offered; glibc then runs without restartable sequences.
        internal static long Rseq(SyscallArgs* a) => -Errno.ENOSYS;

        internal static long GetTid(SyscallArgs* a) => Scheduler.Current->Tid;

        internal static long GetPid(SyscallArgs* a) => ThreadTable.ProcessId;

        internal static long SchedYield(SyscallArgs* a)
        {
            Scheduler.Yield();
            return 0;
        }

        // One CPU: the affinity mask is CPU 0 (the size glibc asks with is at least 8 bytes).
        internal static long SchedGetAffinity(SyscallArgs* a)
        {
            if (a->A1 < 8 || (a->A1 & 7) != 0) return -Errno.EINVAL;
            ulong mask = 1;
            // The mask with every other bit clear, as many bytes as asked for up to 128 (Linux copies
            // min(len, cpumask_size()), so a buffer that runs into a hole is EFAULT).
            ulong* block = stackalloc ulong[16];
            for (int i = 0; i < 16; i++) block[i] = 0;
            block[0] = mask;
            return UserMemory.CopyToUser(a->A2, block, a->A1 < 128 ? a->A1 : 128) ? 8 : -Errno.EFAULT;
        }

        internal static long SchedSetAffinity(SyscallArgs* a) => 0;

        internal static long SchedGetParam(SyscallArgs* a)
        {
            int zero = 0;
            return UserMemory.CopyToUser(a->A1, &zero, 4) ? 0 : -Errno.EFAULT;
        }

        internal static long SchedGetScheduler(SyscallArgs* a) => 0;    // SCHED_OTHER

        internal static long SchedSetScheduler(SyscallArgs* a) => 0;

        internal static long SchedPriorityZero(SyscallArgs* a) => 0;

        internal static long GetCpu(SyscallArgs* a)
        {
            uint zero = 0;
            if (a->A0 != 0 && !UserMemory.CopyToUser(a->A0, &zero, 4)) return -Errno.EFAULT;
            if (a->A1 != 0 && !UserMemory.CopyToUser(a->A1, &zero, 4)) return -Errno.EFAULT;
            return 0;
        }

        internal static long ArchPrctl(SyscallArgs* a)
        {
            switch ((int)a->A0)
            {
                case ARCH_SET_FS:
                    if (a->A1 >= Layout.UserEnd) return -Errno.EPERM;
                    Scheduler.SetFsBase(a->A1);
                    return 0;
                case ARCH_GET_FS:
                    ulong fs = Scheduler.Current->FsBase;
                    return UserMemory.CopyToUser(a->A1, &fs, 8) ? 0 : -Errno.EFAULT;
                default:
                    return -Errno.EINVAL;
            }
        }
    }
}
