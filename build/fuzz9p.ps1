# build.ps1 fuzz9p (issue 13, docs/robustness.md "File-server fuzzing"): the 9P reply fuzzer. Boots
# Libra again and again with the C probe fileloop (Apps/Probes/FileLoop) on a diod share behind a
# relay that mutates the replies (qemu/Libra.Qemu/NinePReplyFuzzer.cs), until -Replies replies have
# passed; prints one line per boot and the figures (replies, mutated, boots, panics, hangs, the
# errnos the workload saw). Exit status 1 when a boot panicked, hung or lost the workload's summary.

$LibraCommands['fuzz9p'] = @{
    Summary = 'fuzz the 9P client: diod''s replies mutated (sizes, types, tags, qids, names, counts, stat fields, truncations, duplicates, drops) at -Rate (0.5) from -Seed (1) for -Replies N (20000) replies over as many boots as it takes (-Verbose: the kernel log of each boot too); figures at the end, status 1 on a panic or hang'
    Options = @{ Replies = 'value'; Seed = 'value'; Rate = 'value'; Ops = 'value'; Verbose = 'switch' }
    Run = {
        param($o)
        $kernel = Build-Kernel
        Build-QemuTool
        Install-DiodPrerequisite
        Invoke-WithProbesLock { Build-CProbes }
        $arguments = @($QemuTool, 'fuzz9p', '--kernel', $kernel, '--app', (Join-Path $ProbesOut 'fileloop'))
        foreach ($k in 'Replies', 'Seed', 'Rate', 'Ops') { if ($o[$k]) { $arguments += @("--$($k.ToLower())", $o[$k]) } }
        if ($o.Verbose) { $arguments += '--verbose' }
        $global:LASTEXITCODE = Invoke-Exact 'dotnet' $arguments
    }
}
