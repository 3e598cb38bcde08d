using BenchmarkDotNet.Running;

// BenchmarkDotNet's own command line: --filter '*', --job short, --inProcess, --list flat, ...
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
