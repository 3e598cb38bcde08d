# The probe programs (Apps/Probes): small NativeAOT programs for the differential tests, each published
# as one static executable, artifacts/probes/<name> (symbols beside it in artifacts/probes/dbg/).

$ProbesSource = Join-Path $Root 'Apps/Probes'
$ProbesOut = Join-Path $Root 'artifacts/probes'

# Every probe project: Name (its AssemblyName, the executable's name), Project, Pie (static-pie or not).
function Get-ProbeProjects {
    foreach ($csproj in Get-ChildItem $ProbesSource -Filter '*.csproj' -Recurse -Depth 1 | Sort-Object FullName) {
        $xml = [xml](Get-Content -Raw $csproj.FullName)
        $name = $xml.SelectSingleNode('//AssemblyName')
        if (-not $name) { Fail "$($csproj.FullName) names no AssemblyName (the probe's executable name)" }
        $pie = $xml.SelectSingleNode('//PositionIndependentExecutable')
        [pscustomobject]@{ Name = $name.InnerText; Project = $csproj.FullName; Pie = [bool]($pie -and $pie.InnerText -eq 'true') }
    }
}

# Every C probe (Apps/Probes/<Dir>/<name>.c, one program per file): Name (the executable's name), Source.
function Get-CProbes {
    foreach ($source in Get-ChildItem $ProbesSource -Filter '*.c' -Recurse -Depth 1 | Sort-Object FullName) {
        [pscustomobject]@{ Name = $source.BaseName; Source = $source.FullName }
    }
}

# Compiles each C probe (what .NET cannot reach: raw futexes, exact sleeps) with gcc -static -O2
# -pthread into artifacts/probes/<name>, when its source or this script is newer than the executable.
function Build-CProbes([switch] $Force) {
    $script = (Get-Item (Join-Path $Root 'build/probes.ps1')).LastWriteTimeUtc
    foreach ($probe in Get-CProbes) {
        $target = Join-Path $ProbesOut $probe.Name
        $newest = @((Get-Item $probe.Source).LastWriteTimeUtc, $script) | Sort-Object | Select-Object -Last 1
        if (-not $Force -and (Test-Path $target) -and (Get-Item $target).LastWriteTimeUtc -gt $newest) { continue }
        Install-Prerequisites @{ gcc = 'gcc'; '/usr/lib/x86_64-linux-gnu/libc.a' = 'libc6-dev' }
        Invoke-Quiet 'gcc' @('-static', '-O2', '-pthread', '-Wall', '-Werror', '-o', $target, $probe.Source)
        Write-Host ('probes: compiled {0} ({1:N0} bytes)' -f $probe.Name, (Get-Item $target).Length)
    }
}

# Every Go probe (Apps/Probes/<Dir>/go.mod): Name (the directory's name in lower case), Directory.
function Get-GoProbes {
    foreach ($module in Get-ChildItem $ProbesSource -Filter 'go.mod' -Recurse -Depth 1 | Sort-Object FullName) {
        [pscustomobject]@{ Name = $module.Directory.Name.ToLowerInvariant(); Directory = $module.Directory.FullName }
    }
}

# Builds each Go probe as a static executable (CGO_ENABLED=0: no libc at all) into
# artifacts/probes/<name>, when a source or this script is newer; Debian's golang-go, offline
# (GOPROXY=off: the probes use the standard library only).
function Build-GoProbes([switch] $Force) {
    $script = (Get-Item (Join-Path $Root 'build/probes.ps1')).LastWriteTimeUtc
    foreach ($probe in Get-GoProbes) {
        $target = Join-Path $ProbesOut $probe.Name
        $newest = @(Get-ChildItem $probe.Directory -File | ForEach-Object LastWriteTimeUtc) + @($script) | Sort-Object | Select-Object -Last 1
        if (-not $Force -and (Test-Path $target) -and (Get-Item $target).LastWriteTimeUtc -gt $newest) { continue }
        Install-Prerequisites @{ go = 'golang-go' }
        $saved = @{ CGO_ENABLED = $env:CGO_ENABLED; GOPROXY = $env:GOPROXY; GOFLAGS = $env:GOFLAGS }
        try {
            $env:CGO_ENABLED = '0'; $env:GOPROXY = 'off'; $env:GOFLAGS = '-trimpath'
            Push-Location $probe.Directory
            try { Invoke-Quiet 'go' @('build', '-o', $target, '.') } finally { Pop-Location }
        }
        finally { foreach ($name in $saved.Keys) { Set-Item "env:$name" $saved[$name] } }
        Write-Host ('probes: built {0} with Go ({1:N0} bytes)' -f $probe.Name, (Get-Item $target).Length)
    }
}

# The ELF header facts the kernel's loader cares about: Type (EXEC, DYN) and whether it asks for a
# dynamic loader (a PT_INTERP program header).
function Get-ElfFacts([string] $Path) {
    $buffer = [byte[]]::new(65536)
    $stream = [IO.File]::OpenRead($Path)
    try { $length = $stream.Read($buffer, 0, $buffer.Length) } finally { $stream.Dispose() }
    if ($length -lt 64 -or $buffer[0] -ne 0x7f -or $buffer[1] -ne 0x45 -or $buffer[2] -ne 0x4c -or $buffer[3] -ne 0x46) {
        return [pscustomobject]@{ Type = 'not ELF'; Interp = $false }
    }
    $type = switch ([BitConverter]::ToUInt16($buffer, 16)) { 2 { 'EXEC' } 3 { 'DYN' } default { "type $_" } }
    $phoff = [BitConverter]::ToUInt64($buffer, 32)
    $phentsize = [BitConverter]::ToUInt16($buffer, 54)
    $phnum = [BitConverter]::ToUInt16($buffer, 56)
    $interp = $false
    for ($i = 0; $i -lt $phnum; $i++) {
        $at = [int]$phoff + $i * $phentsize
        if ($at + 4 -le $length -and [BitConverter]::ToUInt32($buffer, $at) -eq 3) { $interp = $true }
    }
    return [pscustomobject]@{ Type = $type; Interp = $interp }
}

# Runs $Body holding artifacts/probes/.lock, so that concurrent invocations (test runs side by side,
# build.ps1 osbench beside them) never build into the same files.
function Invoke-WithProbesLock([scriptblock] $Body) {
    New-Item -ItemType Directory -Force $ProbesOut | Out-Null
    $lockPath = Join-Path $ProbesOut '.lock'
    $deadline = [DateTime]::UtcNow.AddMinutes(20)
    $lock = $null
    while (-not $lock) {
        try { $lock = [IO.File]::Open($lockPath, 'OpenOrCreate', 'ReadWrite', 'None') }
        catch [IO.IOException] {
            if ([DateTime]::UtcNow -gt $deadline) { Fail "probes: $lockPath is still locked by another build after 20 minutes" }
            Start-Sleep -Milliseconds 500
        }
    }
    try { & $Body }
    finally { $lock.Dispose() }
}

# Publishes every probe into artifacts/probes/<name>, unless every one there is newer than every input.
# One MSBuild run publishes them all in parallel (Apps/Probes/Probes.proj), under the probes' lock.
function Build-Probes([switch] $Force) {
    $probes = @(Get-ProbeProjects)
    Invoke-WithProbesLock {
        Build-CProbes -Force:$Force
        Build-GoProbes -Force:$Force
        $inputs = @(Get-ChildItem $ProbesSource -Recurse -File | Where-Object { $_.FullName -notmatch '[/\\](obj|bin)[/\\]' -and $_.Extension -notin '.c', '.go', '.mod' }) +
            @(Get-Item (Join-Path $Root 'Directory.Build.props'), (Join-Path $Root 'global.json'), (Join-Path $Root 'build/probes.ps1'))
        $newestInput = ($inputs | Measure-Object -Property LastWriteTimeUtc -Maximum).Maximum
        $outputs = @($probes | ForEach-Object { Join-Path $ProbesOut $_.Name })
        $stale = @($outputs | Where-Object { -not (Test-Path $_) -or (Get-Item $_).LastWriteTimeUtc -le $newestInput })
        if (-not $Force -and $stale.Count -eq 0) {
            Write-Host "probes: up to date in $(Resolve-Path -Relative $ProbesOut) ($($probes.Name -join ', '))"
            return
        }

        # ILC links with the C compiler driver against glibc's static libraries; hello-pie links with lld.
        # (Install-Prerequisites takes a file path as well as a command name.)
        Install-Prerequisites @{ gcc = 'gcc'; 'ld.lld' = 'lld'; '/usr/lib/x86_64-linux-gnu/libc.a' = 'libc6-dev' }
        $watch = [Diagnostics.Stopwatch]::StartNew()
        # A stale native object can survive a property change (workload.md): start the native step clean.
        foreach ($probe in $probes) {
            Get-ChildItem (Join-Path (Split-Path $probe.Project) 'obj') -Recurse -Directory -Filter native -ErrorAction SilentlyContinue |
                Remove-Item -Recurse -Force
        }
        $publishRoot = Join-Path $ProbesOut '.publish'
        if (Test-Path $publishRoot) { Remove-Item -Recurse -Force $publishRoot }
        Write-Host "probes: publishing $($probes.Count) NativeAOT static executables ($($probes.Name -join ', '))"
        Invoke-Quiet 'dotnet' @('msbuild', (Join-Path $ProbesSource 'Probes.proj'), '-restore', '-t:Publish', '-m', '-nodeReuse:false',
            '-nologo', '-v:q', "-p:LibraProbesPublishRoot=$publishRoot")

        $symbols = Join-Path $ProbesOut 'dbg'
        New-Item -ItemType Directory -Force $symbols | Out-Null
        $now = [DateTime]::UtcNow
        foreach ($probe in $probes) {
            $published = Join-Path $publishRoot "$($probe.Name)/$($probe.Name)"
            if (-not (Test-Path $published)) { Fail "probes: publishing $($probe.Project) left no $published" }
            $elf = Get-ElfFacts $published
            $want = if ($probe.Pie) { 'DYN' } else { 'EXEC' }
            if ($elf.Type -ne $want -or $elf.Interp) {
                Fail "probes: $($probe.Name) is $($elf.Type)$(if ($elf.Interp) { ' with a PT_INTERP header' }), expected a static $want executable"
            }
            $target = Join-Path $ProbesOut $probe.Name
            Copy-Item -Force $published $target
            (Get-Item $target).LastWriteTimeUtc = $now
            if (Test-Path "$published.dbg") { Copy-Item -Force "$published.dbg" (Join-Path $symbols "$($probe.Name).dbg") }
        }
        Remove-Item -Recurse -Force $publishRoot
        Write-Host ("probes: published in {0:0.0} s into {1}" -f $watch.Elapsed.TotalSeconds, (Resolve-Path -Relative $ProbesOut))
        foreach ($probe in $probes) {
            $path = Join-Path $ProbesOut $probe.Name
            Write-Host ('  {0,-12} {1,-4} {2,10:N0} bytes' -f $probe.Name, (Get-ElfFacts $path).Type, (Get-Item $path).Length)
        }
    }
}

$LibraCommands['probes'] = @{
    Summary = 'publish the probe programs (Apps/Probes) as static executables into artifacts/probes/'
    Options = @{ Force = 'switch' }
    Run = {
        param($o)
        Build-Probes -Force:([bool]$o['Force'])
    }
}
