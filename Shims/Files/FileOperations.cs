using Libra.Memory;
using Libra.Threads;

namespace Libra.Shims
{
    // What one kind of open file does, as function pointers (xv6's devsw, Unikraft's uk_file_ops):
    // the descriptor calls dispatch through the table, so a new kind (a socket, an eventfd, an epoll
    // instance) is a new file with its own table, not an edit to every call. A null entry means the
    // kind does not do that; each call says what Linux answers then.
    internal unsafe struct FileOperations
    {
        // Read into (checked user or kernel) memory at `offset`, or at the file position when offset
        // is ulong.MaxValue: bytes read, 0 at end of file, or -errno. Null: EINVAL.
        internal delegate*<OpenFile*, byte*, ulong, ulong, long> Read;
        // The same for writes. Null: EINVAL.
        internal delegate*<OpenFile*, byte*, ulong, ulong, long> Write;
        // The readiness mask now (PollEvents). Null: the file does not poll (a regular file): poll
        // and select report it readable and writable, epoll_ctl refuses it with EPERM.
        internal delegate*<OpenFile*, uint> Poll;
        // Where changes of that mask are announced. Null: the mask never changes.
        internal delegate*<OpenFile*, PollQueue*> Queue;
        // The last descriptor of the description is gone.
        internal delegate*<OpenFile*, void> Release;
        // What fstat says. Null: made from Mode, Inode and Size.
        internal delegate*<OpenFile*, StatRecord*, long> Stat;
        // ioctl requests the kind knows (FIONBIO and FIOCLEX/FIONCLEX are answered for every kind
        // before this). Null: ENOTTY.
        internal delegate*<OpenFile*, uint, ulong, long> Ioctl;
        // The size SEEK_END counts from. Null: the file cannot seek (ESPIPE).
        internal delegate*<OpenFile*, ulong*, long> SeekEnd;
        // getdents64 into a checked user buffer. Null: ENOTDIR.
        internal delegate*<OpenFile*, ulong, ulong, long> GetDents;
        // fchmod, futimens, ftruncate (9P2000.L's Tsetattr record). Null: EPERM (EINVAL for a size).
        internal delegate*<OpenFile*, NineP.NinePSetAttr*, long> SetAttributes;

        internal static FileOperations* New() => (FileOperations*)KernelHeap.AllocateZeroed((ulong)sizeof(FileOperations));
    }
}
