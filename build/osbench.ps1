# build.ps1 osbench (issue 12): the OS primitives measured by the static probe `osbench`
# (Apps/Probes/OsBench) natively, in the bench's Linux guest over 9P with cache=none and with
# cache=loose, and on Libra, in one run; the harness (bench/Harness/OsBench) writes
# bench/results/osbench-<ts>.{json,md,png}.

# An initramfs for the Debian kernel: busybox-static, the virtio-9p and virtio-net modules (QEMU user
# networking's fixed 10.0.2.15, as the search guest's), and an /init that
# mounts the QEMU share `osbench` at /mnt (cache= from the kernel command line's osbench.cache=),
# (msize 256 KiB, what Libra's client proposes), runs /mnt/osbench with the words after the command line's `--` (the kernel passes them to init)
# and writes its stdout, then "osbench: exit status N", to the second serial port.
function Get-OsBenchInitrd {
    Install-Prerequisites @{ cpio = 'cpio'; 'dpkg-deb' = 'dpkg' }
    $guest = Get-GuestKernel @('virtio_pci', '9pnet_virtio', '9p', 'virtio_net')
    $initrd = Join-Path $Root '.cache/guest/initrd-osbench.cpio'
    if ((Test-Path $initrd) -and (Get-Item $initrd).LastWriteTimeUtc -gt (Get-Item (Join-Path $Root 'build/osbench.ps1')).LastWriteTimeUtc) {
        return @{ Kernel = $guest.Kernel; Initrd = $initrd }
    }
    $bbdir = Join-Path $Root '.cache/guest/busybox'
    if (-not (Test-Path (Join-Path $bbdir 'bin/busybox'))) { Invoke-Checked 'dpkg-deb' @('-x', (Get-SearchDeb @('busybox-static')), $bbdir) | Out-Host }
    $stage = Join-Path $Root '.cache/guest/stage-osbench'
    if (Test-Path $stage) { Remove-Item -Recurse -Force $stage }
    foreach ($d in 'bin', 'dev', 'proc', 'sys', 'tmp', 'mnt', 'modules') { New-Item -ItemType Directory -Force (Join-Path $stage $d) | Out-Null }
    Copy-Item (Join-Path $bbdir 'bin/busybox') (Join-Path $stage 'bin/busybox')
    $load = foreach ($m in $guest.Modules) {
        Copy-Item $m (Join-Path $stage 'modules')
        "insmod /modules/$(Split-Path -Leaf $m)"
    }
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
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
CACHE=`$(sed -n 's/.*osbench\.cache=\([a-z]*\).*/\1/p' /proc/cmdline)
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=`${CACHE:-none} osbench /mnt
/mnt/osbench "`$@" > /dev/ttyS1 2>&1
echo "osbench: exit status `$?" > /dev/ttyS1
poweroff -f
"@
    [System.IO.File]::WriteAllText((Join-Path $stage 'init'), $init.Replace("`r`n", "`n") + "`n")
    Invoke-Checked 'chmod' @('755', (Join-Path $stage 'init'), (Join-Path $stage 'bin/busybox')) | Out-Host
    Push-Location $stage
    try {
        & bash -c "find . | LC_ALL=C sort | cpio -o -H newc --quiet > '$initrd'"
        if ($LASTEXITCODE -ne 0) { Fail 'cpio failed to pack the osbench initramfs' }
    } finally { Pop-Location }
    Remove-Item -Recurse -Force $stage
    Write-Host "osbench: guest initramfs $initrd ($([math]::Round((Get-Item $initrd).Length / 1MB, 1)) MiB)"
    return @{ Kernel = $guest.Kernel; Initrd = $initrd }
}

$LibraCommands['osbench'] = @{
    Summary = 'OS primitives (syscall, clocks, futex/pipe/eventfd ping-pong, threads, faults, sleeps, 9P files, TCP): native vs the Linux guest (9P cache=none, loose) vs Libra (-Smoke: short loops)'
    Options = @{ Smoke = 'switch'; Rounds = 'value'; Results = 'value'; Target = 'list'; Memory = 'value' }
    Run = {
        param($o)
        Install-Prerequisites @{ 'qemu-system-x86_64' = 'qemu-system-x86'; gnuplot = 'gnuplot-nox'; taskset = 'util-linux' }
        Build-CProbes
        $h = @('osbench', '--binary', (Join-Path $ProbesOut 'osbench'),
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
