# build.ps1 filebench: the files probe's throughput figures natively (a temp dir) and on Libra (the
# same kind of dir exported over 9P), in the same run, with Libra's ratio to native.

function Invoke-FileBench([string] $FileServer, [int] $MiB) {
    $probe = Join-Path $Root 'artifacts/probes/files'
    $native = Join-Path ([IO.Path]::GetTempPath()) ("libra-filebench-native-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $shared = Join-Path ([IO.Path]::GetTempPath()) ("libra-filebench-libra-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory $native, $shared | Out-Null
    try {
        $nativeLines = & $probe $native --measure $MiB
        if ($LASTEXITCODE -ne 0) { Fail "filebench: the native run failed (exit status $LASTEXITCODE)" }
        $arguments = @($QemuTool, 'run', '--kernel', $KernelImage, '--memory', '1G', '--app', $probe, '--share', $shared)
        if ($FileServer) { $arguments += @('--file-server', $FileServer) }
        $arguments += @('--', '/', '--measure', "$MiB")
        $libraLines = & dotnet @arguments
        if ($LASTEXITCODE -ne 0) { Fail "filebench: the Libra run failed (exit status $LASTEXITCODE)" }
    }
    finally { Remove-Item -Recurse -Force $native, $shared -ErrorAction SilentlyContinue }
    $rows = foreach ($line in $nativeLines) {
        $name, $value, $unit = $line -split ' '
        $other = ($libraLines | Where-Object { $_ -like "$name *" }) -split ' '
        [pscustomobject]@{ Measure = $name; Native = "$value $unit"; Libra = "$($other[1]) $unit"; 'Libra/Native' = '{0:P1}' -f ([double]$other[1] / [double]$value) }
    }
    $rows | Format-Table -AutoSize | Out-Host
}

$LibraCommands['filebench'] = @{
    Summary = 'file throughput natively and on Libra over 9P in the same run (sequential MB/s, small-file stat/s); -FileServer diod for the second server'
    Options = @{ MiB = 'value'; FileServer = 'value' }
    Run = {
        param($o)
        Build-Kernel | Out-Null
        Build-QemuTool
        Build-Probes
        if ($o.FileServer -eq 'diod') { Install-DiodPrerequisite }
        $mib = if ($o.MiB) { [int]$o.MiB } else { 64 }
        Write-Host "filebench: $mib MiB sequential, 200 small files; native vs Libra (TCG unless KVM works)"
        Invoke-FileBench $o.FileServer $mib
    }
}
