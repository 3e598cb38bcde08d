# The image command: a .NET project (or a static executable built elsewhere) to a bootable Libra
# image, a newc cpio archive that `run -Image` boots (docs/image.md).

$AppProps = Join-Path $Root 'build/Libra.App.props'
$AppTargets = Join-Path $Root 'build/Libra.App.targets'

# The project file a -Project value names: a .csproj (or other project file) or the folder holding one.
function Resolve-AppProject([string] $Project) {
    if (Test-Path $Project -PathType Leaf) { return (Resolve-Path $Project).Path }
    if (-not (Test-Path $Project -PathType Container)) { Fail "image: project '$Project' does not exist" }
    $files = @(Get-ChildItem $Project -File | Where-Object { $_.Extension -in '.csproj', '.fsproj', '.vbproj' })
    if ($files.Count -ne 1) { Fail "image: '$Project' holds $($files.Count) project files; name one with -Project FILE" }
    return $files[0].FullName
}

# What publishing with ICU and OpenSSL linked in needs (the SDK builds its shims with cmake and gcc),
# and GNU cpio, which the tests read images back with.
function Install-ImagePrerequisites {
    Install-Prerequisites @{ gcc = 'gcc'; cmake = 'cmake'; cpio = 'cpio'
        '/usr/lib/x86_64-linux-gnu/libicudata.a' = 'libicu-dev'; '/usr/lib/x86_64-linux-gnu/libssl.a' = 'libssl-dev' }
}

# Publishes a project with Libra's MSBuild integration (build/Libra.App.props and .targets: a
# static NativeAOT executable, ICU and OpenSSL linked in, or neither with -Small) and returns the
# executable's path.
function Publish-AppProject([string] $ProjectFile, [bool] $Small) {
    $name = [IO.Path]::GetFileNameWithoutExtension($ProjectFile)
    $publishDir = Join-Path $Root "artifacts/images/$name$(if ($Small) { '-small' })"
    $what = if ($Small) { 'invariant globalization, no OpenSSL' } else { 'ICU, unless the project is invariant, and OpenSSL linked in' }
    Write-Host "image: publishing $ProjectFile as a static executable ($what)"
    Remove-Item -Recurse -Force $publishDir -ErrorAction SilentlyContinue
    $arguments = @('publish', $ProjectFile, '-c', 'Release', '-o', $publishDir, '-v', 'q', '-nologo',
        "-p:CustomBeforeMicrosoftCommonProps=$AppProps", "-p:CustomAfterMicrosoftCommonTargets=$AppTargets")
    if ($Small) { $arguments += '-p:LibraSmall=true' }
    Install-ImagePrerequisites
    Invoke-Quiet 'dotnet' $arguments
    # The published executable is the one ELF file there without an extension (NAME.dbg holds its symbols).
    $elves = @(Get-ChildItem $publishDir -File | Where-Object { $_.Extension -eq '' } | Where-Object {
        $head = [byte[]]::new(4)
        $stream = [IO.File]::OpenRead($_.FullName)
        try { [void]$stream.Read($head, 0, 4) } finally { $stream.Dispose() }
        [Text.Encoding]::ASCII.GetString($head) -eq "`u{7f}ELF"
    })
    if ($elves.Count -ne 1) { Fail "image: publishing $ProjectFile left $($elves.Count) executables in $publishDir (is it a console application with PublishAot?)" }
    return $elves[0].FullName
}

$LibraCommands['image'] = @{
    Summary = 'write a bootable Libra image: -Project DIR|CSPROJ (published static, ICU and OpenSSL in; -Small: neither) or -App ELF, -Out FILE [-Name NAME] [-Env NAME=VALUE ...] [-Library NAME|PATH ...] [-- default args]'
    Options = @{ Project = 'value'; App = 'value'; Out = 'value'; Small = 'switch'; Name = 'value'; Env = 'list'; Library = 'list' }
    Run = {
        param($o)
        if ([bool]$o.Project -eq [bool]$o.App) { Fail 'image: give -Project DIR|CSPROJ or -App ELF' }
        if (-not $o.Out) { Fail 'image: -Out FILE names the image to write' }
        if ($o.Small -and $o.App) { Fail 'image: -Small applies to -Project (a binary built elsewhere is taken as it is)' }
        Build-QemuTool
        $app = if ($o.Project) { Publish-AppProject (Resolve-AppProject $o.Project) $o.Small } else { $o.App }
        $arguments = @($QemuTool, 'image', '--app', $app, '--out', $o.Out)
        if ($o.Name) { $arguments += @('--name', $o.Name) }
        foreach ($pair in $o.Env) { $arguments += @('--env', $pair) }
        foreach ($library in $o.Library) { $arguments += @('--library', $library) }
        if ($o.Rest.Count -gt 0) { $arguments += '--'; $arguments += $o.Rest }
        $global:LASTEXITCODE = Invoke-Exact 'dotnet' $arguments
    }
}
