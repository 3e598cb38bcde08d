using System.Runtime.InteropServices;

namespace Libra.Probes;

// How many descriptors the process has open: fcntl(F_GETFD) on each number below 8,192 (above
// Libra's table of 4,096 and this machine's usual limits), as /proc/self/fd would list them.
static partial class Descriptors
{
    private const int F_GETFD = 1, Highest = 8192;

    [LibraryImport("libc", EntryPoint = "fcntl")]
    private static partial int Fcntl(int fd, int command);

    public static int Open()
    {
        int count = 0;
        for (int fd = 0; fd < Highest; fd++)
            if (Fcntl(fd, F_GETFD) >= 0) count++;
        return count;
    }
}
