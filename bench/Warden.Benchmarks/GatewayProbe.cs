using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ModelContextProtocol.Client;
using Warden.Core.Audit;
using Warden.Storage.Audit;
using Warden.Workspace;
using Warden.Workspace.Seeding;
using Warden.Core;

namespace Warden.Benchmarks;

/// <summary>
/// The gateway's added latency for an allowed read (contacts.get), against calling the workspace
/// in-process, with the durable audit append measured apart: `warden serve` runs as its own
/// process with 64 agents; this process is the load, over Streamable HTTP with the C# MCP client,
/// and over stdio with a `warden mcp` child.
/// </summary>
internal static class GatewayProbe
{
    private const int Agents = 64;
    private const int Contacts = 10_000;
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    public static int Run(string[] args)
    {
        var folder = Path.Combine(Path.GetTempPath(), "warden-gateway-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            return RunAsync(folder).GetAwaiter().GetResult();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<int> RunAsync(string folder)
    {
        Console.WriteLine($"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}; {Agents} agents, {Contacts:N0} contacts");
        var policy = Path.Combine(folder, "bench.yaml");
        File.WriteAllText(policy, Policy());
        var data = Path.Combine(folder, "data");
        using (var store = WorkspaceStore.Open(Path.Combine(data, "workspace.db")))
        {
            WorkspaceSeeder.Seed(store, new SeedOptions { Contacts = Contacts, Seed = 1 });
        }

        var ids = LiveIds(Path.Combine(data, "workspace.db"));
        var direct = Direct(Path.Combine(data, "workspace.db"), ids);
        Console.WriteLine($"a) workspace in-process, contacts.get plan + apply, one caller: median {Median(direct):0.000} ms, p99 {P99(direct):0.000} ms");
        var (auditOne, auditMany) = await Audit(folder);
        Console.WriteLine($"b) durable audit append of such a call's entry: one caller median {Median(auditOne):0.000} ms, p99 {P99(auditOne):0.000} ms; " +
                          $"{Agents} callers median {Median(auditMany):0.000} ms, p99 {P99(auditMany):0.000} ms");

        var (pipeline, pipelinePaced) = await InProcess(folder, policy, data, ids);
        Console.WriteLine($"c0) the governed path in-process (plan, decide, apply, durable audit, mask; no transport), one agent: median {Median(pipeline):0.000} ms, p99 {P99(pipeline):0.000} ms; " +
                          $"added (c0 - a - b) median {Median(pipeline) - Median(direct) - Median(auditOne):0.000} ms");
        var directPaced = PacedDirect = await Paced(i =>
        {
            DirectCall(data, ids, i);
            return Task.CompletedTask;
        });
        var auditPaced = await PacedAudit(folder);
        Console.WriteLine($"f) {Agents} agents at a steady {PacedRate:N0} calls/s in all: workspace in-process median {Median(directPaced):0.000} / p99 {P99(directPaced):0.000} ms; " +
                          $"audit append {Median(auditPaced):0.000} / {P99(auditPaced):0.000} ms; governed path in-process {Median(pipelinePaced):0.000} / {P99(pipelinePaced):0.000} ms, " +
                          $"added (f0 - a - b) median {Median(pipelinePaced) - Median(directPaced) - Median(auditPaced):0.000} ms");

        var port = FreePort();
        using var serve = Start(policy, data, port);
        try
        {
            await OverHttp(serve, $"http://127.0.0.1:{port}", ids, direct, auditOne, auditMany);
        }
        finally
        {
            Stop(serve); // also when a measurement fails: no gateway is left running
        }

        await using var stdio = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = "dotnet",
            Arguments = [WardenDll, "mcp", "--agent", "bench-agent-00", "--policy", policy, "--data", data],
        }));
        var overStdio = await Sequential(stdio, ids, 3_000);
        Console.WriteLine($"e) governed over stdio, one agent: median {Median(overStdio):0.000} ms, p99 {P99(overStdio):0.000} ms; " +
                          $"added (e - a - b) median {Median(overStdio) - Median(direct) - Median(auditOne):0.000} ms");
        return 0;
    }

    private static async Task OverHttp(Process serve, string url, string[] ids, List<double> direct, List<double> auditOne, List<double> auditMany)
    {
        await WaitFor(url);
        var clients = new List<McpClient>();
        for (var i = 0; i < Agents; i++)
        {
            clients.Add(await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(url + "/mcp"),
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + Token(i) },
            })));
        }

        var one = await Sequential(clients[0], ids, 3_000);
        Console.WriteLine($"c) governed over Streamable HTTP, one agent: median {Median(one):0.000} ms, p99 {P99(one):0.000} ms; " +
                          $"added (c - a - b) median {Median(one) - Median(direct) - Median(auditOne):0.000} ms");
        var raw = await RawHttp(url, ids, agents: 1, count: 3_000);
        Console.WriteLine($"c2) the same with a plain HTTP client (one POST per call, no MCP client library): median {Median(raw.Latencies):0.000} ms, p99 {P99(raw.Latencies):0.000} ms; " +
                          $"added (c2 - a - b) median {Median(raw.Latencies) - Median(direct) - Median(auditOne):0.000} ms");
        var rawMany = await RawHttp(url, ids, agents: Agents, count: 0);
        Console.WriteLine($"d2) plain HTTP, {Agents} agents at once: {rawMany.Throughput:N0} calls/s, median {Median(rawMany.Latencies):0.000} ms, p99 {P99(rawMany.Latencies):0.000} ms");
        var rawPaced = await PacedHttp(url, ids);
        Console.WriteLine($"f2) plain HTTP, {Agents} agents at a steady {PacedRate:N0} calls/s in all: median {Median(rawPaced):0.000} ms, p99 {P99(rawPaced):0.000} ms; " +
                          $"added (f2 - a - b, each at the same load) median {Median(rawPaced) - Median(PacedDirect!) - Median(PacedAppend!):0.000} ms, " +
                          $"p99 {P99(rawPaced) - P99(PacedDirect!) - P99(PacedAppend!):0.000} ms");
        var (many, throughput) = await Concurrent(clients, ids);
        Console.WriteLine($"d) governed over Streamable HTTP, {Agents} agents at once: {throughput:N0} calls/s, median {Median(many):0.000} ms, p99 {P99(many):0.000} ms; " +
                          $"added (d - a - b at {Agents}) median {Median(many) - Median(direct) - Median(auditMany):0.000} ms, p99 {P99(many) - P99(direct) - P99(auditMany):0.000} ms");
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    private static string Policy()
    {
        var text = new StringBuilder("""
            version: 1
            id: gateway-bench
            owners:
              - { id: ana, name: Ana, email: ana@example.com, roles: [approver, business_owner, risk_owner] }
              - { id: bo, name: Bo, email: bo@example.com, roles: [approver, technical_owner, data_owner] }
            data_classes:
              pii: [contacts.email, contacts.phone, contacts.first_name, contacts.last_name]
            use_cases:
              - id: reporting
                classification: { access: low, autonomy: low, data_sensitivity: low, customer_impact: low, compliance_exposure: low, reversibility: low }
                owners: { business: ana, technical: bo, data: bo, risk: ana }
                escalation: bo
            rules:
              - { id: reads, kind: read, effect: allow }
            agents:

            """);
        for (var i = 0; i < Agents; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"  - {{ id: bench-agent-{i:D2}, use_case: reporting, environments: [sandbox], auth: {{ token: env:WARDEN_BENCH_{i:D2} }} }}\n");
        }

        return text.ToString();
    }

    /// <summary>The CLI built beside this probe, in the same configuration.</summary>
    private static string WardenDll
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            {
                var dll = Path.Combine(folder.FullName, "src", "Warden.Cli", "bin", configuration, "net10.0", "warden.dll");
                if (File.Exists(dll))
                {
                    return dll;
                }
            }

            throw new FileNotFoundException("warden.dll was not built beside the benchmarks");
        }
    }

    private static string Token(int agent) => $"bench-token-{agent:D2}-7f3a";

    /// <summary>
    /// The gateway's own path, called in this process on a copy of the data: what the transports add
    /// is the rest. One agent in turn, then <see cref="Agents"/> at <see cref="PacedRate"/>.
    /// </summary>
    private static async Task<(List<double> One, List<double> Paced)> InProcess(string folder, string policy, string data, string[] ids)
    {
        var copy = Path.Combine(folder, "in-process");
        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(data, "workspace.db"), Path.Combine(copy, "workspace.db"));
        await using var gateway = await Gateway.Gateway.OpenAsync(new Gateway.GatewayOptions { PolicyPath = policy, DataDirectory = copy, Demo = true });
        var samples = new List<double>();
        for (var i = 0; i < 3_300; i++)
        {
            var arguments = JsonDocument.Parse($$"""{"id":"{{ids[(i * 7919) % ids.Length]}}"}""").RootElement;
            var start = Stopwatch.GetTimestamp();
            var outcome = await gateway.Calls.CallAsync("bench-agent-00", "contacts.get", arguments, null, null);
            var json = outcome.ToJson();
            if (i >= 300)
            {
                samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            GC.KeepAlive(json);
        }

        var paced = await Paced(async i =>
        {
            var arguments = JsonDocument.Parse($$"""{"id":"{{ids[(i * 7919) % ids.Length]}}"}""").RootElement;
            var outcome = await gateway.Calls.CallAsync($"bench-agent-{i % Agents:D2}", "contacts.get", arguments, null, null);
            GC.KeepAlive(outcome.ToJson());
        });
        return (samples, paced);
    }

    /// <summary>The total rate of the steady load (f): about half of what the machine serves flat out, so that latency is the work, not a queue.</summary>
    private const double PacedRate = 2_500;

    /// <summary>The steady-load figures of (a) and (b), kept for the added latency over HTTP (f2).</summary>
    private static List<double>? PacedDirect;
    private static List<double>? PacedAppend;

    private static MarketingWorkspace? _pacedWorkspace;

    private static void DirectCall(string data, string[] ids, int i)
    {
        _pacedWorkspace ??= new MarketingWorkspace(WorkspaceStore.Open(Path.Combine(data, "workspace.db")));
        var call = new ToolCall("contacts.get", JsonDocument.Parse($$"""{"id":"{{ids[(i * 7919) % ids.Length]}}"}""").RootElement, "bench-agent-00", "sandbox");
        _pacedWorkspace.Apply(_pacedWorkspace.Plan(call).Get()).Get();
    }

    /// <summary>
    /// <see cref="Agents"/> callers, each starting a call every Agents/<see cref="PacedRate"/> seconds
    /// whether or not the last one took long (an open load, as agents are); the latency of each call
    /// from its start, over 10 s after 2 s of warm-up.
    /// </summary>
    private static async Task<List<double>> Paced(Func<int, Task> call)
    {
        var period = Agents / PacedRate * Stopwatch.Frequency;
        var begin = Stopwatch.GetTimestamp();
        var from = begin + (long)(2 * Stopwatch.Frequency);
        var to = from + (long)(10 * Stopwatch.Frequency);
        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        await Task.WhenAll(Enumerable.Range(0, Agents).Select(a => Task.Run(async () =>
        {
            var calls = new List<Task>();
            for (var k = 0; ; k++)
            {
                var due = begin + (long)((k + (double)a / Agents) * period);
                if (due >= to)
                {
                    break;
                }

                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }

                var index = (k * Agents) + a;
                calls.Add(Task.Run(async () =>
                {
                    var start = Stopwatch.GetTimestamp();
                    await call(index);
                    var end = Stopwatch.GetTimestamp();
                    if (start >= from && end < to)
                    {
                        latencies.Add((end - start) * 1000.0 / Stopwatch.Frequency);
                    }
                }));
            }

            await Task.WhenAll(calls);
        })));
        return [.. latencies];
    }

    private static async Task<List<double>> PacedAudit(string folder)
    {
        await using var trail = AuditTrail.Open(Path.Combine(folder, "audit-paced.db"));
        var entry = BenchEntry();
        var samples = await Paced(async _ => await trail.AppendAsync(entry));
        PacedAppend = samples;
        return samples;
    }

    /// <summary>Plain JSON-RPC posts at the steady load (f), one connection per agent.</summary>
    private static async Task<List<double>> PacedHttp(string url, string[] ids)
    {
        var clients = Enumerable.Range(0, Agents).Select(a =>
        {
            var http = new HttpClient();
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token(a));
            http.DefaultRequestHeaders.Accept.ParseAdd("application/json, text/event-stream");
            return http;
        }).ToList();
        try
        {
            return await Paced(async i =>
            {
                using var content = new StringContent(JsonSerializer.Serialize(new
                {
                    jsonrpc = "2.0", id = i, method = "tools/call", @params = new { name = "contacts.get", arguments = new { id = ids[(i * 7919) % ids.Length] } },
                }), Encoding.UTF8, "application/json");
                using var response = await clients[i % Agents].PostAsync(url + "/mcp", content);
                var text = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode || text.Contains("\"isError\":true", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"the call failed ({(int)response.StatusCode}): {text}");
                }
            });
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    /// <summary>The contacts a read can find (the seed soft-deletes a few).</summary>
    private static string[] LiveIds(string path)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM contacts WHERE deleted_at IS NULL ORDER BY id";
        using var reader = command.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }

        return [.. ids];
    }

    private static List<double> Direct(string path, string[] ids)
    {
        using var store = WorkspaceStore.Open(path);
        var workspace = new MarketingWorkspace(store);
        var samples = new List<double>();
        for (var i = 0; i < 5_500; i++)
        {
            var call = new ToolCall("contacts.get", JsonDocument.Parse($$"""{"id":"{{ids[(i * 7919) % ids.Length]}}"}""").RootElement, "bench-agent-00", "sandbox");
            var start = Stopwatch.GetTimestamp();
            workspace.Apply(workspace.Plan(call).Get()).Get();
            if (i >= 500)
            {
                samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }

        return samples;
    }

    /// <summary>An entry the size of an allowed read's.</summary>
    private static AuditEntry BenchEntry() => new()
    {
        Kind = AuditKinds.Call, Environment = "sandbox", Agent = "bench-agent-00", UseCase = "reporting", Tool = "contacts.get",
        Arguments = JsonDocument.Parse("""{"id":"c-0000042"}""").RootElement, Effect = "allow", Rule = "reads", Reason = "Allowed by rule 'reads'.",
        PlanSummary = "contacts.get: read 1 contact (c-0000042), fields id, email, first_name, last_name, phone, company_id, job_title, country, lifecycle_stage.",
        PlanHash = "sha256:" + new string('a', 64), RecordsRead = ["c-0000042"], FieldsRead = ["contacts.id", "contacts.email", "contacts.country"], Outcome = "ok",
        PolicyHash = "sha256:" + new string('b', 64),
    };

    private static async Task<(List<double> One, List<double> Many)> Audit(string folder)
    {
        var entry = BenchEntry();
        await using var trail = AuditTrail.Open(Path.Combine(folder, "audit-bench.db"));
        var one = new List<double>();
        for (var i = 0; i < 3_200; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await trail.AppendAsync(entry);
            if (i >= 200)
            {
                one.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }

        var many = new List<double>[Agents];
        await Task.WhenAll(Enumerable.Range(0, Agents).Select(a => Task.Run(async () =>
        {
            var mine = many[a] = [];
            for (var i = 0; i < 300; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await trail.AppendAsync(entry);
                if (i >= 50)
                {
                    mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            }
        })));
        return (one, [.. many.SelectMany(m => m)]);
    }

    private static async Task<List<double>> Sequential(McpClient client, string[] ids, int count)
    {
        var samples = new List<double>(count);
        for (var i = 0; i < count + 300; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var result = await client.CallToolAsync("contacts.get", new Dictionary<string, object?> { ["id"] = ids[(i * 7919) % ids.Length] });
            if (result.IsError == true)
            {
                throw new InvalidOperationException("the call failed: " + JsonSerializer.Serialize(result.Content));
            }

            if (i >= 300)
            {
                samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }

        return samples;
    }

    /// <summary>JSON-RPC posts with a plain HttpClient, one connection per agent: the load a thin client puts on the gateway. count 0 runs the timed window.</summary>
    private static async Task<(List<double> Latencies, double Throughput)> RawHttp(string url, string[] ids, int agents, int count)
    {
        var begin = Stopwatch.GetTimestamp();
        var from = begin + (long)(WarmUp.TotalSeconds * Stopwatch.Frequency);
        var to = from + (long)(Window.TotalSeconds * Stopwatch.Frequency);
        var latencies = new List<double>[agents];
        var counted = new long[agents];
        await Task.WhenAll(Enumerable.Range(0, agents).Select(a => Task.Run(async () =>
        {
            using var http = new HttpClient();
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token(a));
            http.DefaultRequestHeaders.Accept.ParseAdd("application/json, text/event-stream");
            var mine = latencies[a] = [];
            for (var i = a; ; i += agents)
            {
                var start = Stopwatch.GetTimestamp();
                if (count == 0 ? start >= to : i / agents >= count + 300)
                {
                    break;
                }

                using var content = new StringContent(JsonSerializer.Serialize(new
                {
                    jsonrpc = "2.0", id = i, method = "tools/call", @params = new { name = "contacts.get", arguments = new { id = ids[(i * 7919) % ids.Length] } },
                }), Encoding.UTF8, "application/json");
                using var response = await http.PostAsync(url + "/mcp", content);
                var text = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode || text.Contains("\"isError\":true", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"the call failed ({(int)response.StatusCode}): {text}");
                }

                var end = Stopwatch.GetTimestamp();
                if (count == 0 ? start >= from && end < to : i / agents >= 300)
                {
                    mine.Add((end - start) * 1000.0 / Stopwatch.Frequency);
                    counted[a]++;
                }
            }
        })));
        return ([.. latencies.SelectMany(l => l)], count == 0 ? counted.Sum() / Window.TotalSeconds : 0);
    }

    private static async Task<(List<double> Latencies, double Throughput)> Concurrent(List<McpClient> clients, string[] ids)
    {
        var begin = Stopwatch.GetTimestamp();
        var from = begin + (long)(WarmUp.TotalSeconds * Stopwatch.Frequency);
        var to = from + (long)(Window.TotalSeconds * Stopwatch.Frequency);
        var latencies = new List<double>[clients.Count];
        var counted = new long[clients.Count];
        await Task.WhenAll(clients.Select((client, a) => Task.Run(async () =>
        {
            var mine = latencies[a] = [];
            for (var i = a; ; i += clients.Count)
            {
                var start = Stopwatch.GetTimestamp();
                if (start >= to)
                {
                    break;
                }

                await client.CallToolAsync("contacts.get", new Dictionary<string, object?> { ["id"] = ids[(i * 7919) % ids.Length] });
                var end = Stopwatch.GetTimestamp();
                if (start >= from && end < to)
                {
                    mine.Add((end - start) * 1000.0 / Stopwatch.Frequency);
                    counted[a]++;
                }
            }
        })));
        return ([.. latencies.SelectMany(l => l)], counted.Sum() / Window.TotalSeconds);
    }

    private static Process Start(string policy, string data, int port)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { WardenDll, "serve", "--policy", policy, "--data", data, "--port", port.ToString(CultureInfo.InvariantCulture), "--agent-rate", "1000000" })
        {
            start.ArgumentList.Add(argument);
        }

        for (var i = 0; i < Agents; i++)
        {
            start.Environment[$"WARDEN_BENCH_{i:D2}"] = Token(i);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine("serve: " + e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Stop(Process process)
    {
        if (process.HasExited)
        {
            return;
        }

        Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])?.WaitForExit();
        if (!process.WaitForExit(15_000))
        {
            process.Kill(entireProcessTree: true);
        }
    }

    private static async Task WaitFor(string url)
    {
        using var http = new HttpClient();
        for (var i = 0; i < 600; i++)
        {
            try
            {
                if ((await http.GetAsync(url + "/api/health")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not yet
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("warden serve did not start");
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static double Median(List<double> samples) => Percentile(samples, 0.5);

    private static double P99(List<double> samples) => Percentile(samples, 0.99);

    private static double Percentile(List<double> samples, double p)
    {
        var sorted = samples.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];
    }
}
