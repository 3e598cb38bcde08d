# The syscall table as a reader sees it (Shims/SyscallTable.cs, one `case N: entry = new
# SyscallEntry(...)` a line): each call's number, name and support level, and the counts.

# Every row of the table: Number, Name, Support (full, stub: accepted but not done, enosys).
function Get-SyscallTable {
    $source = Get-Content -Raw (Join-Path $Root 'Shims/SyscallTable.cs')
    $row = 'case (\d+): entry = new SyscallEntry\("(\w+)", \d+, (null|&[\w.]+)(?:, SyscallSupport\.(\w+))?\)'
    foreach ($match in [regex]::Matches($source, $row)) {
        $support = if ($match.Groups[3].Value -eq 'null') { 'enosys' }
            elseif ($match.Groups[4].Success) { $match.Groups[4].Value.ToLowerInvariant() }
            else { 'full' }
        [pscustomobject]@{ Number = [int]$match.Groups[1].Value; Name = $match.Groups[2].Value; Support = $support }
    }
}

$LibraCommands['syscalls'] = @{
    Summary = 'print the syscall table: number, name, support (full, stub: accepted but not done, enosys)'
    Options = @{ Support = 'value' }
    Run = {
        param($o)
        $rows = @(Get-SyscallTable)
        if ($rows.Count -eq 0) { Fail 'no rows found in Shims/SyscallTable.cs' }
        $shown = if ($o.Support) { @($rows | Where-Object Support -eq $o.Support) } else { $rows }
        foreach ($r in $shown) { Write-Host ('{0,4}  {1,-24} {2}' -f $r.Number, $r.Name, $r.Support) }
        $counts = $rows | Group-Object Support | Sort-Object Name | ForEach-Object { "$($_.Count) $($_.Name)" }
        Write-Host "$($rows.Count) calls: $($counts -join ', ')"
    }
}
