# build.ps1 fuzz (issue 13): the syscall fuzzer (Apps/Probes/Fuzz/fuzz.c) on Libra for N minutes with
# an empty scratch share; Libra.Qemu's FuzzRun watches it and reports calls, distinct syscalls,
# panics and hangs with the seed that repeats the run (docs/robustness.md).

$LibraCommands['fuzz'] = @{
    Summary = 'the syscall fuzzer on Libra for -Minutes N [-Seed S] [-Threads T] [-Memory 512M] [-FailAlloc N] [-Log FILE] [-Trace]: calls, distinct syscalls, panics, hangs; exit 1 on a panic or hang'
    Options = @{ Minutes = 'value'; Seed = 'value'; Threads = 'value'; Memory = 'value'; FailAlloc = 'value'; Log = 'value'; Trace = 'switch' }
    Run = {
        param($o)
        if (-not $o.Minutes) { Fail 'fuzz: give -Minutes N (decimals allowed: -Minutes 0.5)' }
        $seconds = [int][Math]::Round([double]::Parse($o.Minutes, [Globalization.CultureInfo]::InvariantCulture) * 60)
        if ($seconds -lt 1) { Fail 'fuzz: -Minutes must come to at least one second' }
        $kernel = Build-Kernel
        Build-QemuTool
        Invoke-WithProbesLock { Build-CProbes }
        $arguments = @($QemuTool, 'fuzz', '--kernel', $kernel, '--app', (Join-Path $ProbesOut 'fuzz'), '--seconds', "$seconds")
        foreach ($pair in @(@('Seed', '--seed'), @('Threads', '--threads'), @('Memory', '--memory'), @('FailAlloc', '--fail-alloc'), @('Log', '--log'))) {
            if ($o[$pair[0]]) { $arguments += @($pair[1], $o[$pair[0]]) }
        }
        if ($o.Trace) { $arguments += '--trace' }
        $global:LASTEXITCODE = Invoke-Exact 'dotnet' $arguments
    }
}
