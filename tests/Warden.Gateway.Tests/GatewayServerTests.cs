using System.Net;
using System.Net.Sockets;
using Warden.Storage.Audit;

namespace Warden.Gateway.Tests;

/// <summary>Starting and stopping a gateway: where it says it listens, what the trail keeps when it cannot, and who can read its data folder.</summary>
public sealed class GatewayServerTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "warden-gateway-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    private GatewayOptions Options(string url) => new()
    {
        PolicyPath = "policy.yaml", PolicyText = GatewayFixture.ExamplePolicy, DataDirectory = _data, Url = url, Demo = true, DemoContacts = 50,
    };

    [Fact]
    public async Task A_port_in_use_is_refused_in_a_sentence_and_the_trail_says_the_policy_was_never_served()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";

        var refused = await Assert.ThrowsAsync<GatewayException>(() => GatewayServer.RunAsync(Options(url), cancellationToken: TestContext.Current.CancellationToken));

        Assert.StartsWith($"cannot listen on {url}: ", refused.Message, StringComparison.Ordinal);
        Assert.EndsWith("(is another gateway running there? choose another port with --port)", refused.Message, StringComparison.Ordinal);
        var last = AuditLog.Query(Path.Combine(_data, "audit.db"), new AuditQuery()).Entries.MaxBy(e => e.Seq)!.Entry;
        Assert.Equal(("policy.load", "error"), (last.Kind, last.Outcome));
        Assert.StartsWith($"not served: cannot listen on {url}", last.Detail, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_data, GatewayServer.AddressFile)));
    }

    [Fact]
    public async Task A_running_gateway_writes_where_it_listens_and_takes_it_away_when_it_stops()
    {
        using var stop = new CancellationTokenSource();
        var started = new TaskCompletionSource<GatewayStarted>();
        var running = GatewayServer.RunAsync(Options("http://127.0.0.1:0"), s => started.SetResult(s), stop.Token);

        var where = await started.Task.WaitAsync(TestContext.Current.CancellationToken);
        Assert.Matches(@"^http://127\.0\.0\.1:\d+$", where.Url);
        Assert.DoesNotContain(":0", where.Url, StringComparison.Ordinal);
        Assert.Equal(where.Url, (await File.ReadAllTextAsync(Path.Combine(_data, GatewayServer.AddressFile), TestContext.Current.CancellationToken)).Trim());

        await stop.CancelAsync();
        await running;
        Assert.False(File.Exists(Path.Combine(_data, GatewayServer.AddressFile)));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_fresh_data_folder_holds_only_files_its_owner_can_read_while_the_gateway_runs()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "file modes are Unix's");
        using var stop = new CancellationTokenSource();
        var started = new TaskCompletionSource<GatewayStarted>();
        var running = GatewayServer.RunAsync(Options("http://127.0.0.1:0"), s => started.SetResult(s), stop.Token);
        await started.Task.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            var entries = Directory.EnumerateFileSystemEntries(_data, "*", SearchOption.AllDirectories).ToList();
            foreach (var name in (string[])["audit.db", "audit.db-wal", "audit.db-shm", "audit.db.key", "gateway.db", "gateway.db-wal", "workspace.db", GatewayServer.AddressFile])
            {
                Assert.Contains(Path.Combine(_data, name), entries);
            }

            const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            Assert.Equal(ownerOnly | UnixFileMode.UserExecute, File.GetUnixFileMode(_data));
            Assert.All(entries, e => Assert.Equal((e, Directory.Exists(e) ? ownerOnly | UnixFileMode.UserExecute : ownerOnly), (e, File.GetUnixFileMode(e))));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_data_folder_and_secrets_folder_left_open_to_others_are_closed_when_the_gateway_opens()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "file modes are Unix's");
        var secrets = Path.Combine(_data, "secrets");
        Directory.CreateDirectory(secrets);
        const UnixFileMode open = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
                                  | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(_data, open);
        File.SetUnixFileMode(secrets, open);
        await using (await Gateway.OpenAsync(Options("http://127.0.0.1:0"), TestContext.Current.CancellationToken))
        {
        }

        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Assert.Equal((ownerOnly, ownerOnly), (File.GetUnixFileMode(_data), File.GetUnixFileMode(secrets)));
    }

    /// <summary>A clock that counts the repeating timers made from it and still running (one-shot delays end by themselves).</summary>
    private sealed class TimerCountingClock : TimeProvider
    {
        private int _running;

        public int Running => Volatile.Read(ref _running);

        public System.Collections.Concurrent.ConcurrentDictionary<object, string> Live { get; } = new();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero)
            {
                return base.CreateTimer(callback, state, dueTime, period);
            }

            Interlocked.Increment(ref _running);
            var counted = new Counted(base.CreateTimer(callback, state, dueTime, period), this);
            Live[counted] = Environment.StackTrace;
            return counted;
        }

        private sealed class Counted(ITimer inner, TimerCountingClock clock) : ITimer
        {
            private int _disposed;

            public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0)
                {
                    Interlocked.Decrement(ref clock._running);
                    clock.Live.TryRemove(this, out _);
                }

                inner.Dispose();
            }

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }

    [Fact]
    public async Task A_gateway_that_fails_while_opening_leaves_no_timer_running()
    {
        // What a stopped gateway left is settled while opening; a store it cannot read makes opening fail late, after every part is built.
        Directory.CreateDirectory(_data);
        using (var store = Warden.Storage.Gateway.GatewayStore.Open(Path.Combine(_data, "gateway.db")))
        {
            store.Intents.Intend(new Warden.Storage.Gateway.IntentRecord("int-1", "sandbox", "hygiene-bot", "contacts.update", "sha256:x", "not an entry", DateTimeOffset.UtcNow));
        }

        var clock = new TimerCountingClock();
        var options = Options("http://127.0.0.1:0");

        await Assert.ThrowsAnyAsync<Exception>(async () => await Gateway.OpenAsync(new GatewayOptions
        {
            PolicyPath = options.PolicyPath, PolicyText = options.PolicyText, DataDirectory = _data, Url = options.Url, Demo = true, DemoContacts = 50,
            WebhookUrl = "http://127.0.0.1:9/hook", Clock = clock,
        }, TestContext.Current.CancellationToken));

        Assert.Equal(0, clock.Running);
    }

    [Fact]
    public async Task A_gateway_that_opened_runs_its_timers_and_stops_them_when_closed()
    {
        var clock = new TimerCountingClock();
        var options = Options("http://127.0.0.1:0");
        var gateway = await Gateway.OpenAsync(new GatewayOptions
        {
            PolicyPath = options.PolicyPath, PolicyText = options.PolicyText, DataDirectory = _data, Url = options.Url, Demo = true, DemoContacts = 50,
            WebhookUrl = "http://127.0.0.1:9/hook", Clock = clock,
        }, TestContext.Current.CancellationToken);
        Assert.True(clock.Running >= 3, $"{clock.Running} timers running");

        await gateway.DisposeAsync();

        Assert.True(clock.Running == 0, string.Join("\n----\n", clock.Live.Values));
    }

    [Fact]
    public async Task Housekeeping_that_fails_is_logged_not_swallowed()
    {
        var logs = new CapturedLogs();
        var options = Options("http://127.0.0.1:0");
        await using var gateway = await Gateway.OpenAsync(new GatewayOptions
        {
            PolicyPath = options.PolicyPath, PolicyText = options.PolicyText, DataDirectory = _data, Url = options.Url, Demo = true, DemoContacts = 50, Logging = logs.Factory(),
        }, TestContext.Current.CancellationToken);
        gateway.Store.Dispose(); // the store failing under it

        gateway.Guards.Forget();

        var line = Assert.Single(logs.Lines, l => l.Level == Microsoft.Extensions.Logging.LogLevel.Warning && l.Category.EndsWith(".Guards", StringComparison.Ordinal));
        Assert.Contains("Forgetting usage", line.Message, StringComparison.Ordinal);
        Assert.NotNull(line.Error);
    }
}
