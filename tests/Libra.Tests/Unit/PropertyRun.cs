using Xunit.Sdk;

namespace Libra.Tests.Unit;

// Seeded random operation sequences for the kernel structures' property tests: a failing step is
// reported with the seed and how many operations ran, so `new Random(seed)` replays it exactly.
internal static class PropertyRun
{
    internal static void Steps(int seed, int count, Action<Random, int> step)
    {
        var random = new Random(seed);
        int done = 0;
        try
        {
            for (; done < count; done++) step(random, done);
        }
        catch (Exception e)
        {
            throw new XunitException($"seed {seed}: failed at operation {done + 1} of {count}: {e.Message}", e);
        }
    }
}
