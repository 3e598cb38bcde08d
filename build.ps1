#!/usr/bin/env pwsh
# Libra's one entry point: `dotnet pwsh build.ps1 <command> [options]`.
# Each command lives in a file under build/ that registers itself in $LibraCommands;
# this file holds only the dispatcher and the helpers every command shares.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$Root = $PSScriptRoot
$LibraCommands = [ordered]@{}

# Stops the build with one clear line; the caller's exit status is non-zero.
function Fail([string] $Message) {
    [Console]::Error.WriteLine("build.ps1: $Message")
    exit 1
}

# Runs a native command, echoing it, and fails with its exit status named.
function Invoke-Checked([string] $Exe, [string[]] $Arguments) {
    Write-Verbose "$Exe $($Arguments -join ' ')"
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { Fail "'$Exe $($Arguments -join ' ')' failed with exit status $LASTEXITCODE" }
}

# Runs a native command with exactly these arguments and this process's stdin, stdout and stderr;
# returns its exit status. `& $Exe @Arguments` would glob words such as `*` on Unix and drop `--%`.
function Invoke-Exact([string] $Exe, [string[]] $Arguments) {
    Write-Verbose "$Exe $($Arguments -join ' ')"
    $info = [Diagnostics.ProcessStartInfo]::new($Exe)
    foreach ($argument in $Arguments) { $info.ArgumentList.Add($argument) }
    $process = [Diagnostics.Process]::Start($info)
    $process.WaitForExit()
    return $process.ExitCode
}

# Runs a native command with its output kept back unless it fails.
function Invoke-Quiet([string] $Exe, [string[]] $Arguments) {
    $output = & $Exe @Arguments 2>&1
    if ($LASTEXITCODE -ne 0) {
        $output | ForEach-Object { [Console]::Error.WriteLine("  $_") }
        Fail "'$Exe $($Arguments -join ' ')' failed with exit status $LASTEXITCODE"
    }
}

# Makes sure each command exists, installing its Debian package through apt when it does not.
# $Needs maps a command name to the package that provides it.
function Install-Prerequisites([hashtable] $Needs) {
    $missing = @($Needs.Keys | Where-Object { -not (Get-Command $_ -ErrorAction SilentlyContinue) } |
        ForEach-Object { $Needs[$_] } | Sort-Object -Unique)
    if ($missing.Count -eq 0) { return }
    $hint = "sudo apt-get install -y $($missing -join ' ')"
    $isRoot = (& id -u) -eq '0'
    $canSudo = (-not $isRoot) -and (Get-Command sudo -ErrorAction SilentlyContinue)
    if (-not (Get-Command apt-get -ErrorAction SilentlyContinue) -or (-not $isRoot -and -not $canSudo)) {
        Fail "missing $($missing -join ', '); install with: $hint"
    }
    Write-Host "Installing $($missing -join ' ') with apt-get"
    $env:DEBIAN_FRONTEND = 'noninteractive'
    $exe = 'apt-get'
    $before = [System.Collections.Generic.List[string]]::new()
    if (-not $isRoot) { $exe = 'sudo'; $before.AddRange([string[]]@('-n', 'apt-get')) }
    & $exe @before -q update | Out-Null
    & $exe @before -q install -y --no-install-recommends @missing | Out-Host
    if ($LASTEXITCODE -ne 0) { Fail "apt-get could not install $($missing -join ' '); run: $hint" }
    foreach ($cmd in $Needs.Keys) {
        if (-not (Get-Command $cmd -ErrorAction SilentlyContinue)) { Fail "'$cmd' is still missing after installing $($Needs[$cmd])" }
    }
}

foreach ($file in Get-ChildItem (Join-Path $Root 'build') -Filter '*.ps1' | Sort-Object Name) { . $file.FullName }

$LibraCommands['help'] = @{
    Summary = 'list the commands'
    Run = {
        param($o)
        Write-Host 'usage: dotnet pwsh build.ps1 <command> [options]'
        foreach ($name in $LibraCommands.Keys) { Write-Host ('  {0,-10} {1}' -f $name, $LibraCommands[$name].Summary) }
    }
}

# Turns `-Name value -Flag -List a -List b -- rest...` into a hashtable for the command's Run block,
# following the command's Options table (name -> 'value' | 'list' | 'switch'); words after `--` go to -Rest.
function ConvertTo-CommandOptions([string] $Name, [hashtable] $Spec, [object[]] $Words) {
    $options = @{ Rest = @() }
    foreach ($key in $Spec.Keys) { $options[$key] = switch ($Spec[$key]) { 'switch' { $false } 'list' { @() } default { $null } } }
    for ($i = 0; $i -lt $Words.Count; $i++) {
        $word = [string]$Words[$i]
        if ($word -eq '--') { $options['Rest'] = @($Words | Select-Object -Skip ($i + 1)); break }
        if (-not $word.StartsWith('-')) { Fail "${Name}: unexpected argument '$word' (options: $(($Spec.Keys | ForEach-Object { "-$_" }) -join ' '))" }
        $key = $Spec.Keys | Where-Object { $_ -eq $word.TrimStart('-') } | Select-Object -First 1
        if (-not $key) { Fail "${Name}: unknown option '$word' (options: $(($Spec.Keys | ForEach-Object { "-$_" }) -join ' '))" }
        if ($Spec[$key] -eq 'switch') { $options[$key] = $true; continue }
        if ($i + 1 -ge $Words.Count) { Fail "${Name}: option '$word' needs a value" }
        $value = [string]$Words[++$i]
        if ($Spec[$key] -eq 'list') { $options[$key] = @($options[$key]) + $value } else { $options[$key] = $value }
    }
    return $options
}

# The words after the script's name as the shell passed them: PowerShell's -File binding rewrites
# some before $args sees them (`-d:` loses its colon, `-x:y` becomes two words), the process's own
# argv keeps them. $args when the script was not started by its path (dot-sourced, from a session).
function Get-ScriptWords([object[]] $Fallback) {
    $argv = [Environment]::GetCommandLineArgs()
    for ($i = 1; $i -lt $argv.Count; $i++) {
        try { $path = [IO.Path]::GetFullPath($argv[$i]) } catch { continue }
        if ($path -eq $PSCommandPath) { return , @($argv | Select-Object -Skip ($i + 1)) }
    }
    return , @($Fallback)
}

# The `libra` wrapper starts PowerShell in the repository (where the local tool lives); relative
# paths in the options are the caller's.
if ($env:LIBRA_CALLER_DIR) {
    Set-Location -LiteralPath $env:LIBRA_CALLER_DIR
    [Environment]::CurrentDirectory = $env:LIBRA_CALLER_DIR
}

$words = Get-ScriptWords $args
$Command = if ($words.Count -gt 0) { [string]$words[0] } else { 'help' }
if (-not $LibraCommands.Contains($Command)) { Fail "unknown command '$Command'; try: dotnet pwsh build.ps1 help" }
$entry = $LibraCommands[$Command]
$spec = if ($entry.Contains('Options')) { $entry.Options } else { @{} }
$parsed = ConvertTo-CommandOptions $Command $spec @($words | Select-Object -Skip 1)
$global:LASTEXITCODE = 0
& $entry.Run $parsed
exit $LASTEXITCODE
