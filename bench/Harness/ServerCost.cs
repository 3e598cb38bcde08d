using System.Net.Http.Json;
using System.Text.Json;
using Libra.Bench.Targets;

namespace Libra.Bench;

// The cost of one request as the OS under the service counts it, on every target: the service's
// /stats "os" totals (Apps/Search/HttpApi.cs, OsCounters) read before and after a measured run —
// the process's CPU time, and where /proc/stat exists (natively, where it is the whole host's, and
// in the Linux guests) the context switches and interrupts. Their growth is divided by the requests
// the open loop sent in that run (its rate × warm-up and measured time: it sends on schedule), so the
// two /stats requests themselves are within the rounding. Libra has no /proc/stat; its own counters
// (KernelCounters) give its switches and interrupts.
public sealed class ServerCost
{
    static readonly (string Json, string Name)[] Fields = [("cpuMicros", "cpu_us"), ("contextSwitches", "switches"), ("interrupts", "interrupts")];
    readonly Dictionary<string, double> totals = [];
    double requests;

    // The service's running totals now, by name (a counter its OS does not give is absent).
    public static async Task<Dictionary<string, double>> ReadAsync(ServiceEndpoint endpoint, CancellationToken ct)
    {
        using var http = endpoint.NewHttpClient(TimeSpan.FromSeconds(30));
        var stats = await http.GetFromJsonAsync<JsonElement>("stats", ct);
        var values = new Dictionary<string, double>();
        if (!stats.TryGetProperty("os", out var os)) return values;
        foreach (var (json, name) in Fields)
            if (os.TryGetProperty(json, out var v) && v.ValueKind == JsonValueKind.Number) values[name] = v.GetDouble();
        return values;
    }

    public void Add(Dictionary<string, double> before, Dictionary<string, double> after, double requestsSent)
    {
        foreach (var (name, value) in after)
            if (before.TryGetValue(name, out double start)) totals[name] = totals.GetValueOrDefault(name) + value - start;
        requests += requestsSent;
    }

    public Dictionary<string, double>? PerRequest() =>
        requests < 1 ? null : totals.ToDictionary(kv => kv.Key, kv => kv.Value / requests);
}
