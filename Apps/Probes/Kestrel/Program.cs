using System.Net;
using System.Text;
using Libra.Probes;

// Kestrel answering HTTP/1.1 on 127.0.0.1:PORT (argv[1], default 5641) until GET /quit, for a client
// the test runs on the host (tests/Libra.Tests/Probes/KestrelProbeTests.cs): natively the client
// connects to the port itself, on Libra to the host port the Side daemon publishes it on. Each
// request prints one line, and the last line says how many requests came on how many connections,
// so keep-alive shows in the output. Endpoints:
//   GET /hello                 a fixed text
//   GET /connection            which request this is on its connection (1, 2, ...)
//   GET /download?bytes=N      N bytes of a fixed pattern (byte i is i * 7 mod 251)
//   POST /upload               the body's length and its sum of bytes
//   GET /fetch?port=N          what an HttpClient in this program gets from http://127.0.0.1:N/ (a
//                              server the test runs on the host; on Libra through the Side, -Net outbound)
//   GET /quit                  "bye", then the server stops
int port = args.Length > 0 ? int.Parse(args[0]) : 5641;
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
{
    Args = ["--hostBuilder:reloadConfigOnChange=false"],
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k =>
{
    k.AddServerHeader = false;
    k.Listen(IPAddress.Loopback, port);
});
var app = builder.Build();
var perConnection = new Dictionary<string, int>();
int requests = 0;

app.Use(async (context, next) =>
{
    int count;
    lock (perConnection)
    {
        requests++;
        perConnection.TryGetValue(context.Connection.Id, out count);
        perConnection[context.Connection.Id] = ++count;
    }
    context.Items["count"] = count;
    await next(context);
    Probe.Line($"{context.Request.Method} {context.Request.Path}: {context.Response.StatusCode}");
});
// Plain RequestDelegates, as the search service has: nothing for reflection or a generator to do.
app.MapGet("/hello", context => Text(context, "hello from Kestrel\n"));
app.MapGet("/connection", context => Text(context, $"request {context.Items["count"]} on this connection\n"));
app.MapGet("/download", context =>
{
    int bytes = int.Parse(context.Request.Query["bytes"].ToString());
    var body = new byte[bytes];
    for (int i = 0; i < bytes; i++) body[i] = (byte)(i * 7 % 251);
    context.Response.ContentType = "application/octet-stream";
    context.Response.ContentLength = bytes;
    return context.Response.Body.WriteAsync(body).AsTask();
});
app.MapPost("/upload", async context =>
{
    var buffer = new byte[64 * 1024];
    long length = 0, sum = 0;
    int n;
    while ((n = await context.Request.Body.ReadAsync(buffer)) > 0)
    {
        length += n;
        for (int i = 0; i < n; i++) sum += buffer[i];
    }
    await Text(context, $"{length} bytes, sum {sum}\n");
});
using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
app.MapGet("/fetch", async context =>
{
    int target = int.Parse(context.Request.Query["port"].ToString());
    using var response = await http.GetAsync($"http://127.0.0.1:{target}/");
    string body = await response.Content.ReadAsStringAsync();
    await Text(context, $"the host answered {(int)response.StatusCode}: {body}");
});
app.MapGet("/quit", context =>
{
    context.RequestServices.GetRequiredService<IHostApplicationLifetime>().StopApplication();
    return Text(context, "bye\n");
});

await app.StartAsync();
Console.Error.WriteLine($"kestrel: listening on 127.0.0.1:{port}");
await app.WaitForShutdownAsync();
Probe.Line($"kestrel: {requests} requests on {perConnection.Count} connection(s)");
return 0;

static Task Text(HttpContext context, string text)
{
    byte[] body = Encoding.UTF8.GetBytes(text);
    context.Response.ContentType = "text/plain";
    context.Response.ContentLength = body.Length;
    return context.Response.Body.WriteAsync(body).AsTask();
}
