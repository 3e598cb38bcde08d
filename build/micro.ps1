# Micro-benchmarks of the kernel's portable logic on the host (bench/Micro, BenchmarkDotNet).

$MicroProject = Join-Path $Root 'bench/Micro/Micro.csproj'

$LibraCommands['micro'] = @{
    Summary = "micro-benchmarks of kernel logic on the host, e.g. the 9P codec (-Quick: under a minute; -Filter '*Rread*')"
    Options = @{ Quick = 'switch'; Filter = 'value' }
    Run = {
        param($o)
        $filter = if ($o['Filter']) { $o['Filter'] } else { '*' }
        # One word '--filter=PATTERN': pwsh on Unix would expand a lone '*' against the files here.
        $arguments = @('run', '-c', 'Release', '--project', $MicroProject, '--', "--filter=$filter",
            '--artifacts', (Join-Path $Root 'artifacts/micro'))
        # -Quick: BenchmarkDotNet's short job cut further (1 launch, 2 warm-ups, 5 iterations of 100 ms)
        # and run in this process, skipping the per-benchmark project build; fine for a ratio, not for a claim.
        if ($o['Quick']) { $arguments += @('--job', 'short', '--warmupCount', '2', '--iterationCount', '5', '--iterationTime', '100', '--inProcess') }
        & dotnet @arguments
        if ($LASTEXITCODE -ne 0) { Fail "the micro-benchmarks failed (exit status $LASTEXITCODE)" }
    }
}
