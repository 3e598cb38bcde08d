using System.Net;
using System.Text.Json;
using Libra.Bench.Targets;

namespace Libra.Bench;

// `serve --query TEXT`: start a target, wait until it answers, send one query over HTTP from the
// host, print the hits, stop the target. A failure is one line on stderr (the whole story in a log
// file it names) and exit status 1, so that the README's first command fails legibly.
static class OneQuery
{
    const int Hits = 5;

    public static async Task<int> RunAsync(ITarget target, TargetSettings settings, string query, CancellationToken ct)
    {
        try
        {
            Console.WriteLine($"search: starting {target.Name} ({target.Describe(settings)})");
            await using var running = await target.StartAsync(settings, ct);
            using var http = running.Endpoint.NewHttpClient(TimeSpan.FromSeconds(60));
            using var response = await http.GetAsync($"/search?q={Uri.EscapeDataString(query)}&k={Hits}", ct);
            string text = await response.Content.ReadAsStringAsync(ct);
            if (response.StatusCode != HttpStatusCode.OK)
                return Fail($"{target.Name} answered {(int)response.StatusCode} to '{query}': {text.Trim()}", "");
            var body = JsonDocument.Parse(text).RootElement;
            Console.WriteLine($"search: {target.Name} answered {running.BootToFirstAnswer.TotalSeconds:F1} s after start; " +
                $"'{query}': {body.GetProperty("totalHits").GetInt32()} hits, top {body.GetProperty("hits").GetArrayLength()} " +
                $"(the query took {body.GetProperty("tookMicros").GetInt64() / 1000.0:F1} ms in the service):");
            int rank = 0;
            foreach (var hit in body.GetProperty("hits").EnumerateArray())
            {
                Console.WriteLine($"  {++rank}. {hit.GetProperty("score").GetDouble(),7:F3}  {hit.GetProperty("id").GetString()}  {hit.GetProperty("title").GetString()}");
                Console.WriteLine($"     {OneLine(hit.GetProperty("snippet").GetString() ?? "")}");
            }
            Console.WriteLine($"search: stopping {target.Name}");
            return 0;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or HttpRequestException or JsonException
                                      or IOException or Libra.Qemu.SideException)
        {
            return Fail($"{target.Name}: {e.Message}", e.ToString());
        }
    }

    static string OneLine(string text)
    {
        string line = string.Join(' ', text.Split((char[])['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(w => w.Trim()));
        return line.Length > 160 ? line[..157] + "..." : line;
    }

    static int Fail(string reason, string details)
    {
        string first = reason.Split('\n')[0].Trim();
        string log = Path.Combine(Path.GetTempPath(), $"libra-search-query-{Environment.ProcessId}.log");
        File.WriteAllText(log, reason + "\n" + details);
        Console.Error.WriteLine($"search: {first} (details: {log})");
        return 1;
    }
}
