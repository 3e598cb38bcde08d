using Libra.Boot;
using Libra.Diagnostics;

namespace Libra.Memory
{
    // The machine's page frames: one FrameAllocator over all usable RAM, with the kernel image, its
    // own bitmap, the boot data and the modules held back.
    internal static unsafe class PhysicalMemory
    {
        private static FrameAllocator s_frames;

        internal static ulong FreeBytes => s_frames.FreeFrames * Layout.PageSize;
        // RAM the kernel manages: free at boot plus what the kernel took before the first count.
        internal static ulong TotalBytes;

        // False (after logging why) when no place for the bitmap could be found.
        internal static bool Initialize(BootInfo* boot, ImageLayout* image, ulong startInfo)
        {
            ulong frameCount = boot->Memory.UsableTop / Layout.PageSize;
            ulong bitmapBytes = FrameAllocator.BitmapBytes(frameCount);
            ulong bitmap = FindBitmapPlace(boot, image->PhysicalEnd, bitmapBytes);
            if (bitmap == 0)
            {
                KernelLog.Line("no room for the frame bitmap below 1 GiB");
                return false;
            }
            s_frames.Initialize((ulong*)Layout.PhysicalToVirtual(bitmap), frameCount);
            for (int i = 0; i < boot->Memory.Count; i++)
                if (boot->Memory.Kind(i) == MemoryKind.Usable) s_frames.MarkFree(boot->Memory.Base(i), boot->Memory.End(i));
            s_frames.MarkUsed(0, Layout.LowestAllocatable);
            s_frames.MarkUsed(image->PhysicalStart, image->PhysicalEnd);
            s_frames.MarkUsed(bitmap, bitmap + bitmapBytes);
            s_frames.MarkUsed(startInfo, startInfo + Layout.PageSize);
            if (boot->CommandLinePhysical != 0) s_frames.MarkUsed(boot->CommandLinePhysical, boot->CommandLinePhysical + Layout.PageSize);
            for (int i = 0; i < boot->ModuleCount; i++) s_frames.MarkUsed(boot->ModulePhysical[i], boot->ModulePhysical[i] + boot->ModuleSize[i]);
            TotalBytes = boot->Memory.UsableBytes;
            return true;
        }

        // The first page-aligned spot after the kernel, inside usable RAM, clear of the modules, and
        // below 1 GiB (all the boot page tables reach).
        private static ulong FindBitmapPlace(BootInfo* boot, ulong after, ulong bytes)
        {
            ulong candidate = (after + Layout.PageSize - 1) & ~(Layout.PageSize - 1);
            for (int attempt = 0; attempt < BootInfo.MaxModules + 1; attempt++)
            {
                bool moved = false;
                for (int m = 0; m < boot->ModuleCount; m++)
                {
                    ulong start = boot->ModulePhysical[m], end = start + boot->ModuleSize[m];
                    if (candidate < end && candidate + bytes > start)
                    {
                        candidate = (end + Layout.PageSize - 1) & ~(Layout.PageSize - 1);
                        moved = true;
                    }
                }
                if (!moved) break;
            }
            if (candidate + bytes > Layout.HugePageSize) return 0;
            for (int i = 0; i < boot->Memory.Count; i++)
                if (boot->Memory.Kind(i) == MemoryKind.Usable && candidate >= boot->Memory.Base(i) && candidate + bytes <= boot->Memory.End(i))
                    return candidate;
            return 0;
        }

        // One zeroed frame's physical address, or 0 when memory is exhausted.
        internal static ulong AllocateFrame()
        {
            ulong frame = s_frames.Allocate();
            if (frame != 0) Arch.X64.Native.MemSet(Layout.PhysicalToVirtual(frame), 0, (nuint)Layout.PageSize);
            return frame;
        }

        internal static void FreeFrame(ulong physical) => s_frames.Free(physical);

        // `count` contiguous frames, as a direct-map pointer; null when memory is exhausted.
        internal static byte* AllocatePages(ulong count)
        {
            ulong physical = s_frames.AllocateContiguous(count);
            return physical == 0 ? null : Layout.PhysicalToVirtual(physical);
        }

        internal static void FreePages(byte* pages, ulong count) => s_frames.Free((ulong)pages - Layout.DirectMapBase, count);
    }
}
