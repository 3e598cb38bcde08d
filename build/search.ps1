# The search workload (issue 5): corpus from Debian packages, the static AOT service, its index and
# query set, the stock Linux guest (Debian kernel + busybox initramfs), and the latency bench.
# Everything built here lands under .cache/ (never committed); bench reports under bench/results/.

$SearchCache = Join-Path $Root '.cache/search'
$DebCache = Join-Path $Root '.cache/debs'

# The corpus sets; 'fortunes' is the small one for tests and -Smoke.
$SearchCorpora = @{
    fortunes = @('fortunes')
    full     = @('openjdk-17-doc', 'linux-doc-6.1', 'python3.11-doc', 'debian-handbook', 'dict-gcide', 'dict-wn')
}

# Downloads each Debian package (not installed, just the .deb) into .cache/debs once; returns the paths.
function Get-SearchDeb([string[]] $Packages) {
    New-Item -ItemType Directory -Force $DebCache | Out-Null
    $paths = foreach ($p in $Packages) {
        $deb = Get-ChildItem $DebCache -Filter "$($p)_*.deb" -ErrorAction SilentlyContinue | Select-Object -First 1
        if (-not $deb) {
            Push-Location $DebCache
            try {
                & apt-get download -q $p 2>&1 | Where-Object { $_ -notmatch 'unsandboxed' } | Out-Host
                if ($LASTEXITCODE -ne 0) {
                    # A fresh machine has no package lists yet.
                    & apt-get -q update | Out-Null
                    & apt-get download -q $p 2>&1 | Where-Object { $_ -notmatch 'unsandboxed' } | Out-Host
                }
            } finally { Pop-Location }
            $deb = Get-ChildItem $DebCache -Filter "$($p)_*.deb" -ErrorAction SilentlyContinue | Select-Object -First 1
            if (-not $deb) { Fail "apt-get download $p did not produce a .deb in $DebCache" }
        }
        $deb.FullName
    }
    return @($paths)
}

# Extracts the packages of one corpus set side by side into .cache/corpus/<set>/<package>/.
function Get-SearchCorpus([string] $Set) {
    if (-not $SearchCorpora.ContainsKey($Set)) { Fail "unknown corpus '$Set' (known: $($SearchCorpora.Keys -join ', '))" }
    $dir = Join-Path $Root ".cache/corpus/$Set"
    $stamp = Join-Path $dir '.extracted'
    if (Test-Path $stamp) { return $dir }
    Install-Prerequisites @{ 'dpkg-deb' = 'dpkg'; 'apt-get' = 'apt' }
    if (Test-Path $dir) { Remove-Item -Recurse -Force $dir }
    foreach ($pkg in $SearchCorpora[$Set]) {
        $deb = Get-SearchDeb @($pkg)
        $into = Join-Path $dir $pkg
        New-Item -ItemType Directory -Force $into | Out-Null
        Write-Host "corpus: extracting $(Split-Path -Leaf $deb)"
        Invoke-Checked 'dpkg-deb' @('-x', $deb, $into) | Out-Host
    }
    Set-Content $stamp (Get-Date -Format o)
    return $dir
}

# Publishes Apps/Search as one static executable when a source file is newer than the binary.
function Get-SearchBinary {
    $out = Join-Path $SearchCache 'bin'
    $exe = Join-Path $out 'search'
    $project = Join-Path $Root 'Apps/Search'
    $newest = Get-ChildItem $project -Recurse -File -Include '*.cs', '*.csproj' |
        Where-Object { $_.FullName -notmatch '[/\\](obj|bin)[/\\]' } | Sort-Object LastWriteTimeUtc | Select-Object -Last 1
    if ((Test-Path $exe) -and (Get-Item $exe).LastWriteTimeUtc -gt $newest.LastWriteTimeUtc) { return $exe }
    Write-Host 'search: publishing the NativeAOT static executable'
    # A stale native object can survive a property change (workload.md), so start the native step clean.
    Get-ChildItem (Join-Path $project 'obj') -Recurse -Directory -Filter native -ErrorAction SilentlyContinue | Remove-Item -Recurse -Force
    Invoke-Checked 'dotnet' @('publish', $project, '-c', 'Release', '-o', $out, '-nologo', '-v', 'quiet') | Out-Host
    (Get-Item $exe).LastWriteTimeUtc = [DateTime]::UtcNow
    return $exe
}

# Builds (once) the index and the query set of a corpus set; returns @{ Index; Queries; Binary }.
function Get-SearchIndex([string] $Set, [switch] $Rebuild) {
    $binary = Get-SearchBinary
    $corpus = Get-SearchCorpus $Set
    $index = Join-Path $SearchCache "index-$Set"
    $queries = Join-Path $SearchCache "queries-$Set.tsv"
    if ($Rebuild -or -not (Test-Path (Join-Path $index 'segments.gen'))) {
        Invoke-Checked $binary @('index', '--corpus', $corpus, '--out', $index) | Out-Host
        if (Test-Path $queries) { Remove-Item $queries }
    }
    if (-not (Test-Path $queries)) {
        Invoke-Checked $binary @('queries', '--index', $index, '--out', $queries, '--count', '20000', '--seed', '20071') | Out-Host
    }
    return @{ Index = $index; Queries = $queries; Binary = $binary }
}

# The stock Debian kernel, plus the modules it needs for $Modules (virtio-net by default; they are
# built as modules in Debian's config), dependencies first.
function Get-GuestKernel([string[]] $Modules = @('virtio_pci', 'virtio_net')) {
    $dir = Join-Path $Root '.cache/guest/kernel'
    $stamp = Join-Path $dir '.extracted'
    if (-not (Test-Path $stamp)) {
        Install-Prerequisites @{ 'dpkg-deb' = 'dpkg'; 'apt-cache' = 'apt' }
        # linux-image-amd64 is a metapackage; download the image it depends on.
        $real = (& apt-cache depends linux-image-amd64 2>$null | Select-String 'Depends: (linux-image-\S+)' | Select-Object -First 1)
        if (-not $real) { & apt-get -q update | Out-Null; $real = (& apt-cache depends linux-image-amd64 | Select-String 'Depends: (linux-image-\S+)' | Select-Object -First 1) }
        if (-not $real) { Fail 'apt-cache cannot resolve linux-image-amd64' }
        $deb = Get-SearchDeb @($real.Matches[0].Groups[1].Value)
        if (Test-Path $dir) { Remove-Item -Recurse -Force $dir }
        New-Item -ItemType Directory -Force $dir | Out-Null
        Invoke-Checked 'dpkg-deb' @('-x', $deb, $dir) | Out-Host
        Set-Content $stamp (Split-Path -Leaf $deb)
    }
    $vmlinuz = Get-ChildItem (Join-Path $dir 'boot') -Filter 'vmlinuz-*' | Select-Object -First 1
    $modRoot = Get-ChildItem (Join-Path $dir 'lib/modules') -Directory | Select-Object -First 1
    # The .deb ships no modules.dep (installing it runs depmod), so read each module's own
    # "depends=" entry from its .modinfo section and load dependencies first.
    $files = @{}
    foreach ($ko in Get-ChildItem $modRoot.FullName -Recurse -File -Filter '*.ko') { $files[$ko.BaseName.Replace('-', '_')] = $ko.FullName }
    $ordered = [System.Collections.Generic.List[string]]::new()
    function Add-Module([string] $name) {
        $path = $files[$name]
        if (-not $path) { Fail "the guest kernel has no module $name" }
        if ($ordered.Contains($path)) { return }
        $info = [System.Text.Encoding]::Latin1.GetString([System.IO.File]::ReadAllBytes($path))
        $m = [regex]::Match($info, "depends=([^\x00]*)\x00")
        if ($m.Success) { foreach ($d in $m.Groups[1].Value -split ',' | Where-Object { $_ }) { Add-Module $d.Replace('-', '_') } }
        $ordered.Add($path)
    }
    foreach ($module in $Modules) { Add-Module $module }
    return @{ Kernel = $vmlinuz.FullName; Modules = @($ordered) }
}

# Packs .cache/guest/initrd-<Name>.cpio for the Debian kernel: busybox-static as the shell, the
# kernel's modules in load order ($Guest.Modules), and an /init that mounts proc, sys and dev, loads
# them, brings up lo and eth0, then runs $Body. eth0 gets QEMU user networking's fixed 10.0.2.15/24 and
# its gateway, or the address a `guest.ip=ADDRESS/PREFIX` word of the kernel command line names, with
# no gateway (the bench's linux-guest-tap: a private /30 to the tap's host side and nothing beyond).
# $Populate fills the staging directory with the rest (it is given the directory). Returns the path.
function New-GuestInitrd([string] $Name, [hashtable] $Guest, [string] $Body, [scriptblock] $Populate) {
    Install-Prerequisites @{ cpio = 'cpio'; 'dpkg-deb' = 'dpkg' }
    $initrd = Join-Path $Root ".cache/guest/initrd-$Name.cpio"
    $stage = Join-Path $Root ".cache/guest/stage-$Name"
    if (Test-Path $stage) { Remove-Item -Recurse -Force $stage }
    $bbdir = Join-Path $Root '.cache/guest/busybox'
    if (-not (Test-Path (Join-Path $bbdir 'bin/busybox'))) { Invoke-Checked 'dpkg-deb' @('-x', (Get-SearchDeb @('busybox-static')), $bbdir) | Out-Host }
    foreach ($d in 'bin', 'dev', 'proc', 'sys', 'tmp', 'modules') { New-Item -ItemType Directory -Force (Join-Path $stage $d) | Out-Null }
    Copy-Item (Join-Path $bbdir 'bin/busybox') (Join-Path $stage 'bin/busybox')
    $load = foreach ($m in $Guest.Modules) {
        Copy-Item $m (Join-Path $stage 'modules')
        "insmod /modules/$(Split-Path -Leaf $m)"
    }
    & $Populate $stage
    $init = @"
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
$($load -join "`n")
ip link set lo up
ip link set eth0 up
ADDRESS=10.0.2.15/24
GATEWAY=10.0.2.2
for word in `$(cat /proc/cmdline); do
  case `$word in guest.ip=*) ADDRESS=`${word#guest.ip=}; GATEWAY= ;; esac
done
ip addr add `$ADDRESS dev eth0
[ -n "`$GATEWAY" ] && ip route add default via `$GATEWAY
$Body
"@
    [System.IO.File]::WriteAllText((Join-Path $stage 'init'), $init.Replace("`r`n", "`n") + "`n")
    Invoke-Checked 'chmod' @('755', (Join-Path $stage 'init'), (Join-Path $stage 'bin/busybox')) | Out-Host
    Push-Location $stage
    try {
        & bash -c "find . | LC_ALL=C sort | cpio -o -H newc --quiet > '$initrd'"
        if ($LASTEXITCODE -ne 0) { Fail "cpio failed to pack the initramfs $initrd" }
    } finally { Pop-Location }
    Remove-Item -Recurse -Force $stage
    Write-Host "guest: initramfs $initrd ($([math]::Round((Get-Item $initrd).Length / 1MB, 1)) MiB)"
    return $initrd
}

# An initramfs for the search service: the binary and one index beside the common /init.
function Get-GuestInitrd([string] $Set, [hashtable] $Artifacts) {
    $guest = Get-GuestKernel
    $initrd = Join-Path $Root ".cache/guest/initrd-$Set.cpio"
    $inputs = @($Artifacts.Binary, (Join-Path $Artifacts.Index 'segments.gen'), (Join-Path $Root 'build/search.ps1'))
    if ((Test-Path $initrd) -and -not ($inputs | Where-Object { (Get-Item $_).LastWriteTimeUtc -gt (Get-Item $initrd).LastWriteTimeUtc })) {
        return @{ Kernel = $guest.Kernel; Initrd = $initrd }
    }
    # The service's options come from the kernel command line (search.ram=1 loads the index into RAM).
    $body = @"
RAM=
grep -q 'search.ram=1' /proc/cmdline && RAM=--ram
echo "guest: starting search"
DOTNET_EnableDiagnostics=0 /search serve --index /index --address 0.0.0.0 --port 8080 `$RAM
echo "guest: search exited with status `$?"
poweroff -f
"@
    $initrd = New-GuestInitrd $Set $guest $body {
        param($stage)
        Copy-Item $Artifacts.Binary (Join-Path $stage 'search')
        Invoke-Checked 'chmod' @('755', (Join-Path $stage 'search')) | Out-Host
        New-Item -ItemType Directory -Force (Join-Path $stage 'index') | Out-Null
        Copy-Item (Join-Path $Artifacts.Index '*') (Join-Path $stage 'index')
    }
    return @{ Kernel = $guest.Kernel; Initrd = $initrd }
}

# The bench harness (targets, load generator, report), built then run with `dotnet`; a failure
# fails the build, or with -Unchecked the harness's exit status is returned (its output goes to the host).
function Invoke-SearchHarness([string[]] $Arguments, [string] $Cores = '', [switch] $Unchecked) {
    $project = Join-Path $Root 'bench/Harness'
    Invoke-Quiet 'dotnet' @('build', $project, '-c', 'Release', '-nologo', '-v', 'quiet')
    $dll = Join-Path $project 'bin/Release/net10.0/Harness.dll'
    $exe, $words = if ($Cores -and (Get-Command taskset -ErrorAction SilentlyContinue)) { 'taskset', (@('-c', $Cores, 'dotnet', $dll) + $Arguments) }
                   else { 'dotnet', (@($dll) + $Arguments) }
    if (-not $Unchecked) { Invoke-Checked $exe $words; return }
    & $exe @words | Out-Host
    return $LASTEXITCODE
}

$LibraCommands['search'] = @{
    Summary = 'fetch a corpus, publish the search service, build the index and serve it (-Guest: in the Linux guest; -Libra: on Libra; -Query TEXT: answer one query and stop)'
    Options = @{ Corpus = 'value'; Port = 'value'; Address = 'value'; Ram = 'switch'; Reindex = 'switch'; Prepare = 'switch'; Guest = 'switch'; Libra = 'switch'; Query = 'value' }
    Run = {
        param($o)
        if ($o['Guest'] -and $o['Libra']) { Fail 'search: -Guest or -Libra, not both' }
        $set = if ($o['Corpus']) { $o['Corpus'] } else { 'full' }
        $a = Get-SearchIndex $set -Rebuild:([bool]$o['Reindex'])
        if ($null -ne $o['Query']) {
            # One query from the host to a freshly started service, its hits printed, the service
            # stopped; exit status 1 with one line that says why when it does not answer.
            $h = @('serve', '--binary', $a.Binary, '--index', $a.Index, '--query', $o['Query'])
            Install-Prerequisites @{ 'qemu-system-x86_64' = 'qemu-system-x86' }
            if ($o['Libra']) {
                $h += @('--target', 'libra', '--libra-kernel', (Build-Kernel))
            } elseif ($o['Guest']) {
                $g = Get-GuestInitrd $set $a
                $h += @('--target', 'linux-guest', '--kernel', $g.Kernel, '--initrd', $g.Initrd)
            } else { $h += @('--target', 'native') }
            if ($o['Port']) { $h += @('--port', $o['Port']) }
            if ($o['Ram']) { $h += '--ram' }
            $global:LASTEXITCODE = Invoke-SearchHarness $h -Unchecked
            return
        }
        if ($o['Guest'] -or $o['Prepare']) {
            Install-Prerequisites @{ 'qemu-system-x86_64' = 'qemu-system-x86' }
            $g = Get-GuestInitrd $set $a
        }
        if ($o['Prepare']) {
            Write-Host "search: ready: binary $($a.Binary), index $($a.Index), queries $($a.Queries), guest $($g.Kernel) + $($g.Initrd)"
            return
        }
        $port = if ($o['Port']) { $o['Port'] } else { '8080' }
        if ($o['Guest']) {
            $harness = @('serve', '--target', 'linux-guest', '--kernel', $g.Kernel, '--initrd', $g.Initrd, '--port', $port)
            if ($o['Ram']) { $harness += '--ram' }
            Invoke-SearchHarness $harness
            return
        }
        if ($o['Libra']) {
            # The same binary on Libra: the index's folder shared read-only over 9P, the guest's port
            # 8080 published on the host's 127.0.0.1:PORT through the Side daemon.
            $shared = Split-Path $a.Index -Parent
            $guestIndex = '/' + (Split-Path $a.Index -Leaf)
            $rest = @('serve', '--index', $guestIndex, '--port', '8080')
            if ($o['Ram']) { $rest += '--ram' }
            Write-Host "search: serving $set from Libra; try: curl 'http://127.0.0.1:$port/search?q=hello+world'  (Ctrl-C stops)"
            $words = @('-App', $a.Binary, '-Share', $shared, '-ReadOnly', '-Memory', '1G', '-Publish', "${port}:8080", '--') + $rest
            & $LibraCommands['run'].Run (ConvertTo-CommandOptions 'run' $LibraCommands['run'].Options $words)
            return
        }
        $serve = @('serve', '--index', $a.Index, '--port', $port)
        if ($o['Address']) { $serve += @('--address', $o['Address']) }
        if ($o['Ram']) { $serve += '--ram' }
        Write-Host "search: serving $set natively; try: curl 'http://127.0.0.1:$port/search?q=hello+world'  (Ctrl-C stops)"
        & $a.Binary @serve
    }
}

$LibraCommands['bench'] = @{
    Summary = 'latency of the search service: native vs the Linux guest (slirp and tap) vs Libra (-Smoke: seconds, fortunes corpus)'
    Options = @{ Smoke = 'switch'; Corpus = 'value'; Results = 'value'; Target = 'list'; Rounds = 'value'; Duration = 'value'; Warmup = 'value'; Rates = 'value'; Ram = 'switch'; Memory = 'value'; Smp = 'value'
        LibraOptions = 'value' }
    Run = {
        param($o)
        Install-Prerequisites @{ 'qemu-system-x86_64' = 'qemu-system-x86'; gnuplot = 'gnuplot-nox'; taskset = 'util-linux' }
        $set = if ($o['Corpus']) { $o['Corpus'] } elseif ($o['Smoke']) { 'fortunes' } else { 'full' }
        $a = Get-SearchIndex $set
        $g = Get-GuestInitrd $set $a
        $h = @('bench', '--binary', $a.Binary, '--index', $a.Index, '--queries', $a.Queries, '--kernel', $g.Kernel,
            '--initrd', $g.Initrd, '--corpus', $set, '--results', $(if ($o['Results']) { $o['Results'] } else { Join-Path $Root 'bench/results' }))
        $targets = @($o['Target'] | Where-Object { $_ })
        foreach ($t in $targets) { $h += @('--target', $t) }
        # linux-guest-tap makes a network namespace with `ip` (root only; without root the harness skips it).
        if (($targets.Count -eq 0 -or $targets -contains 'linux-guest-tap') -and (& id -u) -eq '0') { Install-Prerequisites @{ ip = 'iproute2' } }
        if ($targets.Count -eq 0 -or $targets -contains 'libra') { $h += @('--libra-kernel', (Build-Kernel)) }
        if ($o['Smoke']) { $h += '--smoke' }
        foreach ($k in 'Rounds', 'Duration', 'Warmup', 'Rates', 'Memory', 'Smp') { if ($o[$k]) { $h += @("--$($k.ToLower())", $o[$k]) } }
        if ($o['Ram']) { $h += '--ram' }
        if ($o['LibraOptions']) { $h += @('--libra-options', $o['LibraOptions']) }
        # The load generator on core 0; the harness starts each server (or QEMU) pinned to core 1.
        Invoke-SearchHarness $h '0'
    }
}
