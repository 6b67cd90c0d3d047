using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Warden.Gateway.Tests.EndToEnd;

/// <summary>
/// <c>warden serve</c> as a separate process, the way a user starts it: the example policy from a
/// file, tokens from environment variables, a data folder of its own. Stopped by its pid.
/// </summary>
internal sealed class WardenProcess : IAsyncDisposable
{
    public static readonly IReadOnlyDictionary<string, string> Tokens = new Dictionary<string, string>
    {
        ["hygiene-bot"] = "e2e-hygiene-5f1c", ["reporting-bot"] = "e2e-reporting-8a2d", ["campaign-qa-bot"] = "e2e-qa-3b7e", ["nurture-bot"] = "e2e-nurture-9c4f",
        ["maria"] = "e2e-maria-1d6a", ["dev"] = "e2e-dev-7e2b", ["sam"] = "e2e-sam-4c8d", ["rita"] = "e2e-rita-2f9e", ["lee"] = "e2e-lee-6a3c",
    };

    private static readonly Dictionary<string, string> Variables = new()
    {
        ["hygiene-bot"] = "WARDEN_TOKEN_HYGIENE", ["reporting-bot"] = "WARDEN_TOKEN_REPORTING", ["campaign-qa-bot"] = "WARDEN_TOKEN_CAMPAIGN_QA",
        ["nurture-bot"] = "WARDEN_TOKEN_NURTURE", ["maria"] = "WARDEN_TOKEN_MARIA", ["dev"] = "WARDEN_TOKEN_DEV", ["sam"] = "WARDEN_TOKEN_SAM",
        ["rita"] = "WARDEN_TOKEN_RITA", ["lee"] = "WARDEN_TOKEN_LEE",
    };

    private readonly Process _process;
    private readonly StringBuilder _output;
    private readonly HttpClient _http = new();

    private readonly bool _ownsDirectory;

    private WardenProcess(Process process, StringBuilder output, string directory, string url, bool ownsDirectory)
    {
        _process = process;
        _output = output;
        Directory = directory;
        Url = url;
        _ownsDirectory = ownsDirectory;
    }

    /// <summary>True once the process has ended (a crash point killed it, say).</summary>
    public bool HasExited => _process.HasExited;

    public string Directory { get; }

    public string Url { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static string Repository
    {
        get
        {
            for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            {
                if (File.Exists(Path.Combine(folder.FullName, "Warden.slnx")))
                {
                    return folder.FullName;
                }
            }

            throw new InvalidOperationException("the tests run outside the repository");
        }
    }

    public static string WardenDll => Path.Combine(AppContext.BaseDirectory, "warden.dll");

    /// <summary>
    /// Runs a CLI command to its end as a person with <paramref name="token"/> (none when null): the
    /// gateway from <paramref name="url"/>, or when null as the CLI finds it from <paramref name="folder"/>
    /// (its working directory). The exit code, and stdout and stderr together.
    /// </summary>
    public static Task<(int Exit, string Output)> CliAsync(string? token, string? url, string? folder, params string[] arguments) =>
        RunCliAsync(token, url, folder, null, arguments);

    /// <summary>As <see cref="CliAsync(string?, string?, string?, string[])"/>, with <paramref name="input"/> written to its standard input (then closed).</summary>
    public static Task<(int Exit, string Output)> CliWithInputAsync(string input, string? folder, params string[] arguments) =>
        RunCliAsync(null, null, folder, input, arguments);

    // Not an overload of CliAsync: a string input before params string[] would take the command's first word.
    private static async Task<(int Exit, string Output)> RunCliAsync(string? token, string? url, string? folder, string? input, string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = input is not null, UseShellExecute = false,
        };
        if (folder is not null)
        {
            start.WorkingDirectory = folder;
        }

        start.ArgumentList.Add(WardenDll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("WARDEN_TOKEN");
        start.Environment.Remove("WARDEN_URL");
        if (token is not null)
        {
            start.Environment["WARDEN_TOKEN"] = token;
        }

        if (url is not null)
        {
            start.Environment["WARDEN_URL"] = url;
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await output + await error);
    }

    /// <summary>Takes away every token variable of the example policy, and WARDEN_TOKEN and WARDEN_URL: a new user's shell.</summary>
    public static void ClearTokens(IDictionary<string, string?> environment)
    {
        foreach (var (_, variable) in Variables)
        {
            environment.Remove(variable);
        }

        environment.Remove("WARDEN_TOKEN");
        environment.Remove("WARDEN_URL");
    }

    /// <summary>Environment variables that give every identity of the example policy its token.</summary>
    public static void SetTokens(IDictionary<string, string?> environment)
    {
        foreach (var (identity, variable) in Variables)
        {
            environment[variable] = Tokens[identity];
        }
    }

    public static Task<WardenProcess> StartAsync(params string[] extra) => StartAsync(null, null, extra);

    /// <summary>
    /// Starts <c>warden serve</c> in <paramref name="directory"/> (kept afterwards; a new temporary
    /// one, deleted afterwards, when null), with <paramref name="environment"/> added to its
    /// environment variables.
    /// </summary>
    public static Task<WardenProcess> StartAsync(string? directory, IReadOnlyDictionary<string, string>? environment, params string[] extra) =>
        ServeAsync(Path.Combine(Repository, "examples", "marketing", "policy.yaml"), directory, environment, extra);

    /// <summary>As <see cref="StartAsync(string?, IReadOnlyDictionary{string, string}?, string[])"/>, with the policy file <paramref name="policy"/>.</summary>
    public static async Task<WardenProcess> ServeAsync(string policy, string? directory, IReadOnlyDictionary<string, string>? environment, params string[] extra)
    {
        var ownsDirectory = directory is null;
        directory ??= Path.Combine(Path.GetTempPath(), "warden-e2e", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var port = GatewayFixture.FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { WardenDll, "serve", "--policy", policy, "--data", Path.Combine(directory, "data"), "--port",
                     port.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Concat(extra))
        {
            start.ArgumentList.Add(argument);
        }

        SetTokens(start.Environment);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var output = new StringBuilder();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var warden = new WardenProcess(process, output, directory, $"http://127.0.0.1:{port}", ownsDirectory);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"warden serve exited with {process.ExitCode}:\n{warden.Output}");
            }

            try
            {
                using var response = await warden._http.GetAsync(warden.Url + "/api/health", TestContext.Current.CancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return warden;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        await warden.DisposeAsync();
        throw new TimeoutException($"warden serve did not answer within 60 s:\n{output}");
    }

    public async Task<(int Status, JsonNode? Body)> Api(HttpMethod method, string path, string person, object? body = null)
    {
        using var request = new HttpRequestMessage(method, Url + path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Tokens[person]);
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            // SIGTERM, as a service manager would: the gateway closes its trail and stops.
            Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit();
            if (!_process.WaitForExit(15_000))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }

        _process.Dispose();
        if (!_ownsDirectory)
        {
            return;
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // left for the OS to clean
        }

        await Task.CompletedTask;
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }
}

/// <summary>The official TypeScript MCP SDK, driven by tests/peers/mcp-node/client.mjs in a Node process.</summary>
internal static class NodeClient
{
    public static string Folder => Path.Combine(WardenProcess.Repository, "tests", "peers", "mcp-node");

    /// <summary>Runs the steps on one connected client; returns the peer's JSON ({"connected":..., "steps":[...]}).</summary>
    public static Task<JsonNode> RunAsync(params string[] arguments) => RunAsync(null, arguments);

    /// <summary>As <see cref="RunAsync(string[])"/>, the client declaring these capabilities (JSON, as MCP writes them).</summary>
    public static Task<JsonNode> RunDeclaringAsync(string capabilities, params string[] arguments) => RunAsync(capabilities, arguments);

    private static async Task<JsonNode> RunAsync(string? capabilities, string[] arguments)
    {
        if (!System.IO.Directory.Exists(Path.Combine(Folder, "node_modules", "@modelcontextprotocol", "sdk")))
        {
            throw new InvalidOperationException($"the Node MCP peer is not installed: run `npm ci` in {Folder} (./test.sh does)");
        }

        var start = new ProcessStartInfo("node") { WorkingDirectory = Folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("client.mjs");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        WardenProcess.SetTokens(start.Environment);
        if (capabilities is not null)
        {
            start.Environment["MCP_PEER_CAPABILITIES"] = capabilities;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(process.ExitCode == 0 && lines.Length > 0, $"node client.mjs exited {process.ExitCode}:\n{await stderr}");
        return JsonNode.Parse(lines[^1])!;
    }

    public static string Steps(params object[] steps) => JsonSerializer.Serialize(steps);

    /// <summary>Warden's answer inside a step's CallToolResult.</summary>
    public static JsonNode Answer(JsonNode step)
    {
        Assert.True(step["ok"]!.GetValue<bool>(), step.ToJsonString());
        return JsonNode.Parse(step["result"]!["content"]![0]!["text"]!.GetValue<string>())!;
    }
}
