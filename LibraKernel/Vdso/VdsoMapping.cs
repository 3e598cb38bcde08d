using Libra.Arch.X64;
using Libra.Memory;
using Libra.Time;

namespace Libra.Vdso
{
    // Puts the vDSO into the application as Linux's arch/x86/entry/vdso/vma.c does: the data page
    // ([vvar], read-only, the kernel's own page) and just above it the image ([vdso], read+exec, a
    // private copy), whose base the loader passes as AT_SYSINFO_EHDR. The image reaches the data page
    // at a fixed distance (vdso.lds), so it runs unrelocated at any base.
    internal static unsafe class VdsoMapping
    {
        // libra.vdso=off (Linux's vdso=0): nothing is mapped and AT_SYSINFO_EHDR is left out.
        internal static bool Disabled;

        // The vDSO's base address, or 0 when it is disabled or could not be mapped (the C library
        // then makes a system call for each clock read).
        internal static ulong Map()
        {
            if (Disabled) return 0;
            ImageLayout* image = Native.GetImageLayout();
            ulong size = image->VdsoImageEnd - image->VdsoImageStart;
            ulong pages = UserMemory.PageUp(size);
            if (!UserMemory.MapKernelPage(Layout.UserVvar, image->VdsoDataPage - Layout.KernelImageBase, RangeKind.Vvar)) return 0;
            if (UserMemory.Reserve(Layout.UserVdso, pages, UserMemory.ProtRead | UserMemory.ProtExec, RangeKind.Vdso, fixedAddress: true) != Layout.UserVdso ||
                !UserMemory.Populate(Layout.UserVdso, pages))
            {
                UserMemory.Unmap(Layout.UserVvar, Layout.UserVdso + pages - Layout.UserVvar);
                return 0;
            }
            UserMemory.WriteDirect(Layout.UserVdso, (byte*)image->VdsoImageStart, size);
            Clock.Publish();
            return Layout.UserVdso;
        }
    }
}
