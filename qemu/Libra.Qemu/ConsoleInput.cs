namespace Libra.Qemu;

// The host's stdin as the guest's COM1 receives it (Shims/Files/ConsoleFile.cs decodes it): every
// byte stands for itself except 0xFF, sent as 0xFF 0xFF; 0xFF 0x00 marks the end of input, which
// the application reads as end of file.
public static class ConsoleInput
{
    public const byte Escape = 0xff, EndOfInput = 0x00;

    // Appends the framed form of `data` to `output`.
    public static void Encode(ReadOnlySpan<byte> data, List<byte> output)
    {
        foreach (byte b in data)
        {
            output.Add(b);
            if (b == Escape) output.Add(Escape);
        }
    }

    public static ReadOnlySpan<byte> EndMarker => [Escape, EndOfInput];

    // Copies `input` to `destination` framed, then the end marker; a destination that goes away
    // (the guest stopped) ends the copy quietly.
    public static async Task ForwardAsync(Stream? input, Stream destination, CancellationToken cancel)
    {
        var buffer = new byte[4096];
        var framed = new List<byte>(2 * buffer.Length + 2);
        try
        {
            if (input is not null)
            {
                int n;
                while ((n = await input.ReadAsync(buffer, cancel)) > 0)
                {
                    framed.Clear();
                    Encode(buffer.AsSpan(0, n), framed);
                    await destination.WriteAsync(framed.ToArray(), cancel);
                }
            }
            await destination.WriteAsync(EndMarker.ToArray(), cancel);
            await destination.FlushAsync(cancel);
        }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
    }
}
