# Kernel commands: build (libra.elf), symbols (what ILC leaves undefined), run (boot in QEMU).

$KernelDir = Join-Path $Root 'LibraKernel'
$KernelOut = Join-Path $Root 'artifacts/kernel'
$KernelImage = Join-Path $KernelOut 'libra.elf'
$KernelAsmSources = @('Boot/entry.S', 'Arch/X64/Native.S', 'Arch/X64/Interrupts.S', 'Arch/X64/UserCopy.S', 'Vdso/VdsoImage.S')
$VdsoImage = Join-Path $KernelOut 'vdso.so'

function Get-KernelIlcObject {
    Join-Path $KernelDir 'obj/Release/net10.0/linux-x64/native/LibraKernel.o'
}

# Builds artifacts/kernel/vdso.so, the vDSO the kernel maps into the application (LibraKernel/Vdso):
# position-independent C with no library, linked by its own script into one PT_LOAD with the
# dynamic symbols and LINUX_2.6 versions glibc and Go look up, as Linux builds its vdso64.so.
function Build-Vdso {
    Install-Prerequisites @{ 'gcc' = 'gcc'; 'ld' = 'binutils' }
    $object = Join-Path $KernelOut 'vdso.o'
    Invoke-Checked 'gcc' @('-fPIC', '-O2', '-nostdlib', '-ffreestanding', '-fno-stack-protector', '-fno-builtin',
        '-fasynchronous-unwind-tables', '-Wall', '-Werror', '-c', '-o', $object, (Join-Path $KernelDir 'Vdso/vdso.c'))
    Invoke-Checked 'ld' @('-shared', '-T', (Join-Path $KernelDir 'Vdso/vdso.lds'), '--hash-style=both', '-soname', 'linux-vdso.so.1',
        '--eh-frame-hdr', '-Bsymbolic', '-z', 'max-page-size=4096', '-z', 'noexecstack', '--build-id=none', '-s', '-o', $VdsoImage, $object)
}

# Compiles the C# kernel with ILC (dotnet publish), builds the vDSO and assembles the stubs (one of
# which embeds the vDSO); returns the object paths.
function Build-KernelObjects {
    Install-Prerequisites @{ 'as' = 'binutils'; 'nm' = 'binutils'; 'ld.lld' = 'lld' }
    New-Item -ItemType Directory -Force -Path $KernelOut | Out-Null
    Build-Vdso
    Invoke-Quiet 'dotnet' @('publish', (Join-Path $KernelDir 'LibraKernel.csproj'), '-c', 'Release', '-v', 'q', '-nologo')
    $objects = @()
    foreach ($source in $KernelAsmSources) {
        $object = Join-Path $KernelOut (([IO.Path]::GetFileNameWithoutExtension($source)) + '.o')
        Invoke-Checked 'as' @('--64', '-I', $KernelOut, '-o', $object, (Join-Path $KernelDir $source))
        $objects += $object
    }
    return @($objects) + (Get-KernelIlcObject)
}

# The symbols ILC's object needs that neither it nor the assembly stubs define: what the runtime
# (LibraKernel/Runtime) must add after a compiler bump.
function Get-UndefinedKernelSymbols([string[]] $Objects) {
    $defined = @{}
    $undefined = [System.Collections.Generic.SortedSet[string]]::new()
    foreach ($object in $Objects) {
        foreach ($line in (& nm $object)) {
            $parts = $line.Trim() -split '\s+'
            if ($parts.Count -eq 2 -and $parts[0] -eq 'U') { [void]$undefined.Add($parts[1]) }
            elseif ($parts.Count -eq 3) { $defined[$parts[2]] = $true }
        }
    }
    # Boot/kernel.ld defines the section bounds.
    foreach ($match in [regex]::Matches((Get-Content -Raw (Join-Path $KernelDir 'Boot/kernel.ld')), '(?m)\b(\w+)\s*=\s*\.')) {
        $defined[$match.Groups[1].Value] = $true
    }
    return @($undefined | Where-Object { -not $defined.ContainsKey($_) })
}

# Writes the .ksyms blob (see LibraKernel/Diagnostics/SymbolTable.cs) for every function symbol of an
# image and returns an object file holding it.
function New-KernelSymbolObject([string] $Image, [string] $OutDir) {
    $entries = [System.Collections.Generic.List[object]]::new()
    foreach ($line in (& nm -n -S --defined-only $Image)) {
        $parts = $line.Trim() -split '\s+'
        if ($parts.Count -eq 4 -and $parts[2] -match '^[tTwW]$') {
            $entries.Add([pscustomobject]@{ Address = [Convert]::ToUInt64($parts[0], 16); Size = [Convert]::ToUInt32($parts[1], 16); Name = $parts[3] })
        }
        elseif ($parts.Count -eq 3 -and $parts[1] -match '^[tT]$') {
            $entries.Add([pscustomobject]@{ Address = [Convert]::ToUInt64($parts[0], 16); Size = [uint32]0; Name = $parts[2] })
        }
    }
    $entries = @($entries | Sort-Object Address)
    $stream = [IO.MemoryStream]::new()
    $writer = [IO.BinaryWriter]::new($stream)
    $writer.Write([uint32]0x4d59534b)
    $writer.Write([uint32]$entries.Count)
    $nameOffset = 8 + 16 * $entries.Count
    $names = [IO.MemoryStream]::new()
    foreach ($entry in $entries) {
        $writer.Write([uint64]$entry.Address)
        $writer.Write([uint32]($nameOffset + $names.Length))
        $writer.Write([uint32]$entry.Size)
        $bytes = [Text.Encoding]::ASCII.GetBytes($entry.Name)
        $names.Write($bytes, 0, $bytes.Length)
        $names.WriteByte(0)
    }
    $writer.Write($names.ToArray())
    $writer.Flush()
    $blob = Join-Path $OutDir 'ksyms.bin'
    [IO.File]::WriteAllBytes($blob, $stream.ToArray())
    $asm = Join-Path $OutDir 'ksyms.S'
    Set-Content -Path $asm -Value ".section .ksyms, `"a`"`n.balign 8`n.incbin `"$blob`"`n"
    $object = Join-Path $OutDir 'ksyms.o'
    Invoke-Checked 'as' @('--64', '-o', $object, $asm)
    return $object
}

function Invoke-KernelLink([string[]] $Objects, [string] $Output) {
    $arguments = @('-T', (Join-Path $KernelDir 'Boot/kernel.ld'), '-nostdlib', '-static', '-z', 'max-page-size=4096',
        '--no-undefined', '-o', $Output) + $Objects
    & ld.lld @arguments 2>&1 | ForEach-Object { [Console]::Error.WriteLine("  $_") }
    if ($LASTEXITCODE -ne 0) { Fail "linking the kernel failed (see above; 'dotnet pwsh build.ps1 symbols' lists what ILC's object leaves undefined)" }
}

# Builds artifacts/kernel/libra.elf: ILC object + stubs, linked twice so the second image carries
# the symbol table of the first (the table sits last, so no address moves between the two links).
function Build-Kernel {
    $objects = Build-KernelObjects
    $undefined = @(Get-UndefinedKernelSymbols $objects)
    if ($undefined.Count -gt 0) {
        Fail "the kernel object needs symbols nothing defines: $($undefined -join ', ') (add them to LibraKernel/Runtime)"
    }
    $first = Join-Path $KernelOut 'libra.pass1.elf'
    Invoke-KernelLink $objects $first
    $symbols = New-KernelSymbolObject $first $KernelOut
    Invoke-KernelLink (@($objects) + $symbols) $KernelImage
    $movable = '__ksyms_end|__kernel_end'
    $before = (& nm -n --defined-only $first | Where-Object { $_ -notmatch $movable } | ForEach-Object { $_ -replace ' \w ', ' ' }) -join "`n"
    $after = (& nm -n --defined-only $KernelImage | Where-Object { $_ -notmatch $movable } | ForEach-Object { $_ -replace ' \w ', ' ' }) -join "`n"
    if ($before -ne $after) { Fail 'symbol addresses moved between the two kernel links; keep .ksyms last in Boot/kernel.ld' }
    $size = (Get-Item $KernelImage).Length
    Write-Host ("kernel: {0} ({1:N0} bytes)" -f (Resolve-Path -Relative $KernelImage), $size)
    return $KernelImage
}

$LibraCommands['build'] = @{
    Summary = 'build the kernel image artifacts/kernel/libra.elf'
    Run = { param($o) Build-Kernel | Out-Null }
}

$LibraCommands['symbols'] = @{
    Summary = "list the symbols ILC's kernel object leaves undefined (what the runtime must add)"
    Run = {
        param($o)
        $objects = Build-KernelObjects
        $undefined = @(Get-UndefinedKernelSymbols $objects)
        if ($undefined.Count -eq 0) { Write-Host 'ILC object: no undefined symbols' }
        else { Write-Host "ILC object: $($undefined.Count) undefined symbol(s):"; $undefined | ForEach-Object { Write-Host "  $_" } }
    }
}

$QemuProject = Join-Path $Root 'qemu/Libra.Qemu/Libra.Qemu.csproj'
$QemuTool = Join-Path $Root 'qemu/Libra.Qemu/bin/Release/net10.0/Libra.Qemu.dll'

function Build-QemuTool {
    Install-Prerequisites @{ 'qemu-system-x86_64' = 'qemu-system-x86' }
    Invoke-Quiet 'dotnet' @('build', $QemuProject, '-c', 'Release', '-v', 'q', '-nologo')
}

# diod, the 9P server behind -FileServer diod and the tests that use it; it lives in /usr/sbin,
# which a normal user's PATH often lacks, so it is looked for there.
function Install-DiodPrerequisite {
    Install-Prerequisites @{ '/usr/sbin/diod' = 'diod' }
}

$LibraCommands['run'] = @{
    Summary = 'boot Libra in QEMU (KVM when /dev/kvm works, else TCG), with -App <static-elf> or -Image <image> [-Env NAME=VALUE ...] [-Share DIR [-FileServer qemu|diod]] [-Mount HOSTDIR:GUESTDIR[:ro] ...] [-Publish [ADDR:]HOSTPORT:PORT[/udp] ...] [-Net outbound|none] [-Dns ADDR[:PORT]] [-- args]; exits with its status'
    Options = @{ Memory = 'value'; Machine = 'value'; Cpus = 'value'; Append = 'value'; Initrd = 'value'; Tcg = 'switch'; Gdb = 'switch'; InterruptLog = 'value'; NoBuild = 'switch'
        App = 'value'; Image = 'value'; Env = 'list'; Share = 'value'; ReadOnly = 'switch'; FileServer = 'value'; TraceSyscalls = 'switch'; Verbose = 'switch'; KernelLog = 'value'
        Publish = 'list'; Net = 'value'; Dns = 'value'; Mount = 'list' }
    Run = {
        param($o)
        if ($null -ne $o.FileServer -and $o.FileServer -notin @('qemu', 'diod')) { Fail "run: -FileServer is qemu (QEMU's own 9P server, the default) or diod" }
        if ($null -ne $o.Net -and $o.Net -notin @('outbound', 'none')) { Fail "run: -Net is outbound (the guest may connect out of the machine) or none (the default)" }
        if (-not $o.NoBuild) { Build-Kernel | Out-Null }
        Build-QemuTool
        if ($o.FileServer -eq 'diod') { Install-DiodPrerequisite }
        $arguments = @($QemuTool, 'run', '--kernel', $KernelImage)
        foreach ($pair in @(@('Memory', '--memory'), @('Machine', '--machine'), @('Cpus', '--cpus'), @('Append', '--append'), @('Initrd', '--initrd'), @('InterruptLog', '--interrupt-log'),
                @('App', '--app'), @('Image', '--image'), @('KernelLog', '--kernel-log'), @('Share', '--share'), @('FileServer', '--file-server'), @('Net', '--net'), @('Dns', '--dns'))) {
            if ($null -ne $o[$pair[0]]) { $arguments += @($pair[1], $o[$pair[0]]) }
        }
        foreach ($pair in $o.Env) { $arguments += @('--env', $pair) }
        foreach ($spec in $o.Publish) { $arguments += @('--publish', $spec) }
        foreach ($spec in $o.Mount) { $arguments += @('--mount', $spec) }
        if ($o.Tcg) { $arguments += '--tcg' }
        if ($o.Gdb) { $arguments += '--gdb' }
        if ($o.TraceSyscalls) { $arguments += '--trace-syscalls' }
        if ($o.Verbose) { $arguments += '--verbose' }
        if ($o.ReadOnly) { $arguments += '--read-only' }
        if ($o.Rest.Count -gt 0) { $arguments += '--'; $arguments += $o.Rest }
        $global:LASTEXITCODE = Invoke-Exact 'dotnet' $arguments
    }
}

$LibraCommands['test'] = @{
    Summary = 'build the kernel and run every test in Libra.sln (unit, QEMU integration)'
    Options = @{ Filter = 'value' }
    Run = {
        param($o)
        $env:LIBRA_KERNEL_IMAGE = Build-Kernel
        Build-QemuTool
        Install-DiodPrerequisite
        Install-ImagePrerequisites
        $arguments = @('test', (Join-Path $Root 'Libra.sln'), '-c', 'Release', '-nologo', '--logger', 'console;verbosity=normal')
        if ($o.Filter) { $arguments += @('--filter', $o.Filter) }
        & dotnet @arguments
        if ($LASTEXITCODE -ne 0) { Fail "tests failed (exit status $LASTEXITCODE)" }
    }
}
