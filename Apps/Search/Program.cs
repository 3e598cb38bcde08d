using Libra.Apps.Search;

// search serve   : the HTTP query service (the default when no subcommand is given)
// search index   : builds an index from a corpus folder
// search queries : writes the benchmark query set from an index's term statistics
CodecSetup.Register();
string command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
string[] rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
try
{
    return command switch
    {
        "serve" => await HttpApi.RunAsync(ServeOptions.Parse(rest)),
        "index" => IndexBuilder.Run(IndexOptions.Parse(rest)),
        "queries" => QueryGenerator.Run(QueryOptions.Parse(rest)),
        "help" or "--help" or "-h" => Usage(0),
        _ => Usage(2, $"unknown subcommand '{command}'"),
    };
}
catch (UsageException e)
{
    return Usage(2, e.Message);
}

static int Usage(int code, string? error = null)
{
    if (error != null) Console.Error.WriteLine($"search: {error}");
    Console.Error.WriteLine("""
        usage:
          search [serve] --index DIR [--address IP] [--port N] [--ram]
                 env: SEARCH_INDEX, SEARCH_ADDRESS, SEARCH_PORT, SEARCH_RAM=1 (options win)
          search index --corpus DIR --out DIR
          search queries --index DIR --out FILE [--count N] [--seed N]
        """);
    return code;
}
