using BenchmarkDotNet.Running;
using Warden.Benchmarks;

// `dotnet run -c Release -- latency` measures per-call latency percentiles, `-- workspace [contacts]`
// the workspace's plan/apply/rollback on a seeded database, `-- audit [entries]` the audit trail's
// fsync, throughput, latency and verify, `-- gateway` the gateway's added latency over HTTP and stdio (see bench/README.md);
// anything else goes to BenchmarkDotNet (e.g. `-- --filter *Decide*`).
if (args.Length > 0 && args[0] == "workspace")
{
    return WorkspaceProbe.Run(args.Skip(1).ToArray());
}

if (args.Length > 0 && args[0] == "audit")
{
    return AuditProbe.Run(args.Skip(1).ToArray());
}

if (args.Length > 0 && args[0] == "gateway")
{
    return GatewayProbe.Run(args.Skip(1).ToArray());
}

if (args.Length > 0 && args[0] == "postgres")
{
    return PostgresProbe.Run(args.Skip(1).ToArray());
}

if (args.Length > 0 && args[0] == "latency")
{
    return LatencyProbe.Run(args.Skip(1).ToArray());
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
