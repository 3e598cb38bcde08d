# build.ps1 osbench (issue 12): the OS primitives measured by the static probe `osbench`
# (Apps/Probes/OsBench) natively, in the bench's Linux guest over 9P with cache=none and with
# cache=loose, and on Libra, in one run; the harness (bench/Harness/OsBench) writes
# bench/results/osbench-<ts>.{json,md,png}.

# The Linux guest's initramfs (New-GuestInitrd in build/search.ps1) with the virtio-9p and
# virtio-net modules and an /init that mounts the QEMU share `osbench` at /mnt (cache= from the kernel
# command line's osbench.cache=, msize 256 KiB as Libra's client proposes), runs /mnt/<osbench.program=,
# osbench when not given> with the words after the command line's `--` (the kernel passes them to init) and writes its stdout, then
# "osbench: exit status N", to the second serial port.
function Get-OsBenchInitrd {
    $guest = Get-GuestKernel @('virtio_pci', '9pnet_virtio', '9p', 'virtio_net')
    $initrd = Join-Path $Root '.cache/guest/initrd-osbench.cpio'
    $newest = @('build/osbench.ps1', 'build/search.ps1') | ForEach-Object { (Get-Item (Join-Path $Root $_)).LastWriteTimeUtc } | Sort-Object | Select-Object -Last 1
    if ((Test-Path $initrd) -and (Get-Item $initrd).LastWriteTimeUtc -gt $newest) { return @{ Kernel = $guest.Kernel; Initrd = $initrd } }
    $body = @"
CACHE=`$(sed -n 's/.*osbench\.cache=\([a-z]*\).*/\1/p' /proc/cmdline)
PROGRAM=`$(sed -n 's/.*osbench\.program=\([a-z-]*\).*/\1/p' /proc/cmdline)
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=`${CACHE:-none} osbench /mnt
/mnt/`${PROGRAM:-osbench} "`$@" > /dev/ttyS1 2>&1
echo "osbench: exit status `$?" > /dev/ttyS1
poweroff -f
"@
    $initrd = New-GuestInitrd 'osbench' $guest $body { param($stage) New-Item -ItemType Directory -Force (Join-Path $stage 'mnt') | Out-Null }
    return @{ Kernel = $guest.Kernel; Initrd = $initrd }
}

$LibraCommands['osbench'] = @{
    Summary = 'OS primitives (syscall, clocks, futex/pipe/eventfd ping-pong, threads, faults, sleeps, Task.Delay, 9P files, TCP): native vs the Linux guest (9P cache=none, loose) vs Libra (-Smoke: short loops)'
    Options = @{ Smoke = 'switch'; Rounds = 'value'; Results = 'value'; Target = 'list'; Memory = 'value' }
    Run = {
        param($o)
        Install-Prerequisites @{ 'qemu-system-x86_64' = 'qemu-system-x86'; gnuplot = 'gnuplot-nox'; taskset = 'util-linux' }
        # The C probe and the NativeAOT one of the .NET rows (Task.Delay): every probe, as the tests publish them.
        Build-Probes
        $h = @('osbench', '--binary', (Join-Path $ProbesOut 'osbench'), '--dotnet-binary', (Join-Path $ProbesOut 'osbench-dotnet'),
            '--results', $(if ($o['Results']) { $o['Results'] } else { Join-Path $Root 'bench/results' }))
        $targets = @($o['Target'] | Where-Object { $_ })
        foreach ($t in $targets) { $h += @('--target', $t) }
        $all = $targets.Count -eq 0
        if ($all -or ($targets -like 'linux-guest*')) {
            # The guest needs Debian's kernel package; without apt's lists for it, the guest is skipped.
            $cached = Test-Path (Join-Path $Root '.cache/guest/kernel/.extracted')
            if ($cached -or (& apt-cache depends linux-image-amd64 2>$null | Select-String 'Depends: linux-image-')) {
                $g = Get-OsBenchInitrd
                $h += @('--kernel', $g.Kernel, '--initrd', $g.Initrd)
            } else {
                foreach ($cache in 'none', 'loose') { $h += @('--skip', "linux-guest-9p-$cache=apt-cache cannot resolve linux-image-amd64 (no Debian kernel package for the guest)") }
            }
        }
        if ($all -or $targets -contains 'libra') { $h += @('--libra-kernel', (Build-Kernel)) }
        if ($o['Smoke']) { $h += '--smoke' }
        foreach ($k in 'Rounds', 'Memory') { if ($o[$k]) { $h += @("--$($k.ToLower())", $o[$k]) } }
        # Every target on core 1 (the probe natively, each QEMU with its I/O threads, the Side): one
        # CPU for each, as the guests have one vCPU; the harness waits on the same core.
        $global:LASTEXITCODE = Invoke-SearchHarness $h '1' -Unchecked
    }
}
