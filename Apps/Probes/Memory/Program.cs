// memory: what the runtime and the program ask of the virtual memory system. 200 MiB of live 1 MiB
// arrays touched page by page and verified after compacting collections; a 1.25 GiB native
// allocation (malloc -> mmap) of which only a few pages are touched; a 64 MiB large object heap array;
// deep stacks on the main thread and on a thread with a 16 MiB stack; the GC's view of memory.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Libra.Probes;

const int Page = 4096;
const int MiB = 1 << 20;

// 200 MiB live in 1 MiB arrays, every page written with a pattern of (array, page).
{
    var arrays = new byte[200][];
    for (int a = 0; a < arrays.Length; a++)
    {
        var bytes = GC.AllocateUninitializedArray<byte>(MiB);
        for (int p = 0; p < MiB; p += Page) { bytes[p] = (byte)(a * 7 + p / Page); bytes[p + Page - 1] = (byte)a; }
        arrays[a] = bytes;
    }
    Probe.Check("200 x 1 MiB arrays allocated and touched page by page", true);
    Probe.Check("GC heap holds at least 200 MiB while they live", GC.GetTotalMemory(false) >= 200L * MiB,
        $"{GC.GetTotalMemory(false)} bytes");
    for (int i = 0; i < 2; i++) GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    bool intact = true;
    for (int a = 0; a < arrays.Length; a++)
        for (int p = 0; p < MiB; p += Page)
            intact &= arrays[a][p] == (byte)(a * 7 + p / Page) && arrays[a][p + Page - 1] == (byte)a;
    Probe.Check("their contents survive compacting collections", intact);
    GC.KeepAlive(arrays);
}
Probe.Check("the heap shrinks below 64 MiB once they are dead", ShrinksAfterCollect(), $"{GC.GetTotalMemory(false)} bytes");

// A 1.25 GiB native allocation: glibc's malloc maps it with mmap; only the touched pages need memory.
unsafe
{
    nuint size = (nuint)1280 * MiB;
    byte* block = (byte*)NativeMemory.Alloc(size);
    Probe.Check("1.25 GiB native allocation succeeds", block != null);
    if (block != null)
    {
        bool ok = true;
        for (nuint offset = 0; offset < size; offset += 64 * MiB) block[offset] = (byte)(offset / (64 * MiB) + 1);
        block[size - 1] = 0xA5;
        for (nuint offset = 0; offset < size; offset += 64 * MiB) ok &= block[offset] == (byte)(offset / (64 * MiB) + 1);
        ok &= block[size - 1] == 0xA5;
        // Untouched anonymous memory reads as zero.
        ok &= block[32 * MiB] == 0 && block[size - 2 * MiB] == 0;
        Probe.Check("touching one page every 64 MiB of it reads back; untouched pages are zero", ok);
        NativeMemory.Free(block);
    }
    // Aligned native memory (posix_memalign / aligned_alloc).
    byte* aligned = (byte*)NativeMemory.AlignedAlloc(3 * MiB, 2 * MiB);
    Probe.Check("2 MiB-aligned native allocation", aligned != null && ((nuint)aligned & (2 * MiB - 1)) == 0);
    if (aligned != null) { aligned[3 * MiB - 1] = 1; NativeMemory.AlignedFree(aligned); }
}

// A single 64 MiB array lives in the large object heap and is zeroed.
{
    var big = new long[8 * MiB];
    bool zero = true;
    for (int i = 0; i < big.Length; i += Page / sizeof(long)) zero &= big[i] == 0;
    big[^1] = 42;
    Probe.Check("64 MiB array in the large object heap, zeroed", zero && big[^1] == 42 && GC.GetGeneration(big) == 2);
}

// Stacks: the main thread (8 MiB by default on Linux) and a thread asking for 16 MiB.
Probe.Check("main thread: 4 MiB of stack frames", Stack.Recurse(4 * MiB / Stack.FrameBytes) == Stack.Expected(4 * MiB / Stack.FrameBytes));
{
    long result = 0;
    var t = new Thread(() => result = Stack.Recurse(12 * MiB / Stack.FrameBytes), 16 * MiB);
    t.Start();
    t.Join();
    Probe.Check("thread with a 16 MiB stack: 12 MiB of stack frames", result == Stack.Expected(12 * MiB / Stack.FrameBytes));
}

// What the GC knows of the machine (read from /proc/meminfo or cgroups on Linux).
var info = GC.GetGCMemoryInfo();
Probe.Check("GC sees at least 64 MiB of available memory", info.TotalAvailableMemoryBytes >= 64L * MiB,
    $"{info.TotalAvailableMemoryBytes} bytes");
Probe.Check("working set is reported and above 1 MiB", Environment.WorkingSet > MiB, $"{Environment.WorkingSet} bytes");
Probe.Check("page size is 4096", Environment.SystemPageSize == Page, $"{Environment.SystemPageSize}");

return Probe.Finish("memory");

[MethodImpl(MethodImplOptions.NoInlining)]
static bool ShrinksAfterCollect()
{
    for (int i = 0; i < 2; i++) GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    return GC.GetTotalMemory(false) < 64L * MiB;
}

static class Stack
{
    public const int FrameBytes = 1024;

    // Each level keeps a 1 KiB buffer on the stack, written at both ends so every page is touched.
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static unsafe long Recurse(int depth)
    {
        byte* frame = stackalloc byte[FrameBytes - 64];
        frame[0] = (byte)depth;
        frame[FrameBytes - 65] = (byte)(depth >> 8);
        long below = depth > 1 ? Recurse(depth - 1) : 0;
        return below + frame[0] + frame[FrameBytes - 65];
    }

    public static long Expected(int depth)
    {
        long sum = 0;
        for (int d = 1; d <= depth; d++) sum += (byte)d + (byte)(d >> 8);
        return sum;
    }
}
