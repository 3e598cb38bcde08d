using Libra.Tests.Boot;
using Libra.Tests.Probes;
using Xunit;

namespace Libra.Tests.Run;

// A user's .NET project with .NET's defaults (ICU on, not invariant; OpenSSL for crypto), made in a
// temp directory outside the repository, turned into an image once per test run by
// `build.ps1 image -Project`, and its executable taken back out of the image.
public sealed class GlobeProject : IDisposable
{
    public const string Project = """
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <ImplicitUsings>enable</ImplicitUsings>
            <Nullable>enable</Nullable>
          </PropertyGroup>
        </Project>
        """;

    // Culture-aware formatting, casing (tr-TR's dotted and dotless i), sorting, SHA-256, HMAC, AES
    // and random bytes: ICU and OpenSSL at work, with output that does not change between runs.
    public const string Program = """
        using System.Globalization;
        using System.Security.Cryptography;
        using System.Text;

        var de = CultureInfo.GetCultureInfo("de-DE");
        var tr = CultureInfo.GetCultureInfo("tr-TR");
        var ja = CultureInfo.GetCultureInfo("ja-JP");
        Console.WriteLine($"de-DE number: {1234567.891.ToString("N2", de)}");
        Console.WriteLine($"de-DE date: {new DateTime(2024, 3, 5).ToString("D", de)}");
        Console.WriteLine($"ja-JP currency: {1234.5m.ToString("C", ja)}");
        Console.WriteLine($"tr-TR upper: {"istanbul".ToUpper(tr)}");
        Console.WriteLine($"tr-TR lower: {"IĞDIR".ToLower(tr)}");
        var words = new List<string> { "zebra", "Äpfel", "apple", "Zürich", "éclair", "eagle" };
        words.Sort(StringComparer.Create(CultureInfo.GetCultureInfo("sv-SE"), false));
        Console.WriteLine($"sv-SE sort: {string.Join(' ', words)}");
        words.Sort(StringComparer.Create(de, false));
        Console.WriteLine($"de-DE sort: {string.Join(' ', words)}");
        Console.WriteLine($"sha256: {Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("libra")))}");
        Console.WriteLine($"hmac: {Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes("key"), Encoding.UTF8.GetBytes("libra")))}");
        using var aes = Aes.Create();
        aes.Key = SHA256.HashData(Encoding.UTF8.GetBytes("aes key"));
        byte[] iv = new byte[16];
        byte[] cipher = aes.EncryptCbc(Encoding.UTF8.GetBytes("a secret message"), iv);
        Console.WriteLine($"aes-cbc: {Convert.ToHexString(cipher)}");
        Console.WriteLine($"aes round trip: {Encoding.UTF8.GetString(aes.DecryptCbc(cipher, iv))}");
        byte[] random = RandomNumberGenerator.GetBytes(32);
        Console.WriteLine($"random bytes: {random.Length}, not all zero: {random.Any(b => b != 0)}");
        """;

    public string Directory { get; }
    public string Image { get; }
    public string ImageOutput { get; }
    // The application as the image holds it (cpio -i of the image).
    public string Executable { get; }
    // What `dotnet run` prints: the ordinary runtime, with the host's ICU and OpenSSL.
    public string RuntimeOutput { get; }

    public GlobeProject()
    {
        Directory = Path.Combine(Path.GetTempPath(), "libra-globe-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(Directory);
        File.WriteAllText(Path.Combine(Directory, "Globe.csproj"), Project);
        File.WriteAllText(Path.Combine(Directory, "Program.cs"), Program);
        var run = CommandRunner.Run("dotnet", ["run", "-c", "Release"], null, Directory, TimeSpan.FromMinutes(5));
        if (run.ExitStatus != 0) throw new InvalidOperationException("dotnet run failed: " + run);
        RuntimeOutput = run.Stdout;
        Image = Path.Combine(Directory, "globe.img");
        var image = CommandRunner.BuildScript(["image", "-Project", Directory, "-Out", Image], limit: TimeSpan.FromMinutes(15));
        if (image.ExitStatus != 0) throw new InvalidOperationException("build.ps1 image failed: " + image);
        ImageOutput = image.Stdout;
        string root = Path.Combine(Directory, "root");
        System.IO.Directory.CreateDirectory(root);
        var extract = CommandRunner.Run("cpio", ["-i", "-d", "--quiet"], File.ReadAllBytes(Image), root, TimeSpan.FromMinutes(1));
        if (extract.ExitStatus != 0) throw new InvalidOperationException("cpio -i failed: " + extract);
        Executable = Path.Combine(root, "app/Globe");
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}

[Collection("qemu")]
public class SelfContainedAppTests(GlobeProject globe) : IClassFixture<GlobeProject>
{
    [Fact]
    public void The_image_holds_the_static_executable_and_its_default_command_line()
    {
        Elf elf = Elf.Read(globe.Executable);
        Assert.False(elf.HasInterpreter, "the published program needs a dynamic loader");
        Assert.Contains("app/Globe", globe.ImageOutput);
        Assert.Contains(".libra/cmdline: libra.app=/app/Globe", globe.ImageOutput);
        Assert.Equal("libra.app=/app/Globe", File.ReadAllText(Path.Combine(globe.Directory, "root/.libra/cmdline")));
    }

    [Fact]
    public void The_static_executable_prints_natively_what_dotnet_run_prints()
    {
        Assert.Contains("tr-TR upper: İSTANBUL", globe.RuntimeOutput);
        var native = CommandRunner.Run(globe.Executable, [], null, globe.Directory, TimeSpan.FromMinutes(1));
        Assert.True(native.ExitStatus == 0, native.ToString());
        Assert.Equal(globe.RuntimeOutput, native.Stdout);
    }

    [Fact]
    public void On_Libra_without_a_share_it_prints_what_dotnet_run_prints()
    {
        var result = CommandRunner.BuildScript(["run", "-NoBuild", "-App", globe.Executable]);
        Assert.True(result.ExitStatus == 0, result.ToString());
        Assert.Equal(globe.RuntimeOutput, result.Stdout);
    }
}
