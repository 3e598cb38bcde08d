using System.Buffers.Binary;
using Libra.Qemu;
using Xunit;

namespace Libra.Tests.Unit;

// The 9P reply fuzzer's mutations (qemu/Libra.Qemu/NinePReplyFuzzer.cs), on the host.
public class NinePReplyFuzzerTests
{
    // An Rread of "hello" on tag 3: size[4] type[1] tag[2] count[4] data.
    static byte[] Rread()
    {
        byte[] frame = [0, 0, 0, 0, 117, 3, 0, 5, 0, 0, 0, .. "hello"u8];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)frame.Length);
        return frame;
    }

    static List<List<byte[]>> Mutations(int seed, int count)
    {
        var fuzzer = new NinePReplyFuzzer(seed, 1, new NinePFuzzFigures(), framingShare: 0.1);
        return Enumerable.Range(0, count).Select(_ => fuzzer.Mutate(Rread(), 116, 4096)).ToList();
    }

    [Fact]
    public void The_same_seed_mutates_the_same_way()
    {
        var first = Mutations(7, 500);
        var second = Mutations(7, 500);
        Assert.Equal(first.Count, second.Count);
        for (int i = 0; i < first.Count; i++)
            Assert.Equal(first[i].Select(Convert.ToHexString), second[i].Select(Convert.ToHexString));
    }

    [Fact]
    public void Only_the_size_mutations_and_Drop_leave_the_stream_out_of_step()
    {
        var figures = new NinePFuzzFigures();
        var fuzzer = new NinePReplyFuzzer(3, 1, figures, framingShare: 0);
        for (int i = 0; i < 5000; i++)
            foreach (byte[] frame in fuzzer.Mutate(Rread(), 116, 4096))
                Assert.Equal(frame.Length, (int)BinaryPrimitives.ReadUInt32LittleEndian(frame));
        Assert.Equal(0, figures.Count(NinePMutation.SizeHuge) + figures.Count(NinePMutation.Drop));
        Assert.All(Enum.GetValues<NinePMutation>().Where(m => m > NinePMutation.Drop), m => Assert.True(figures.Count(m) > 0, m.ToString()));
    }
}
