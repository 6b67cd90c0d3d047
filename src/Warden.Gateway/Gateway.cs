using Microsoft.Extensions.Logging;
using System.Collections.Concurrent;
using Warden.Core;
using Warden.Core.Audit;
using Warden.Gateway.Approvals;
using Warden.Gateway.Calls;
using Warden.Gateway.Identity;
using Warden.Postgres;
using Warden.Storage;
using Warden.Storage.Audit;
using Warden.Storage.Engines;
using Warden.Storage.Gateway;
using Warden.Upstreams;
using Warden.Workspace;
using Warden.Workspace.Seeding;

namespace Warden.Gateway;

/// <summary>
/// One running gateway: the policy it enforces, the workspace it governs, its audit trail and its
/// own state, and the pieces a call goes through. The HTTP host, the stdio host and tests all
/// build one of these; it owns and closes the files.
/// </summary>
internal sealed class Gateway : IAsyncDisposable
{
    private Gateway(GatewayOptions options, PolicyInForce policies, WorkspaceStore workspaceStore, AuditTrail trail, GatewayStore store, Credentials credentials,
        IReadOnlyDictionary<string, string> demoTokens, IReadOnlyList<PostgresDatabase> databases, IReadOnlyList<McpUpstream> upstreams)
    {
        Options = options;
        Policies = policies;
        WorkspaceStore = workspaceStore;
        Workspace = new MarketingWorkspace(workspaceStore, options.Clock, field => policies.Current.ClassesOf(field));
        Databases = databases;
        Upstreams = upstreams;
        Systems = new GovernedSystems([Workspace, .. databases, .. upstreams]);
        Trail = trail;
        Store = store;
        _credentials = credentials;
        DemoTokens = demoTokens;
        Guards = new Guards.Guards(store, options.Clock, () => Warden.Gateway.Guards.Guards.LongestWindow(policies.Current), options.Logging.CreateLogger<Guards.Guards>());
        Notifier = new Notifications.Notifier(policies, options, store);
        Recorder = new Recorder(trail, policies);
        KillSwitch = new Guards.KillSwitch(policies, options, store, Recorder, Notifier);
        Access = new AgentAccess(policies, options.Environment, Systems);
        Recovery = new Recovery(policies, options, store, Systems, Recorder, trail.Location);
        Governor = new PlanGovernor(policies, options, Systems, store, Guards, KillSwitch, Recovery, Recorder, Access);
        Approvals = new ApprovalDesk(policies, options, store, Notifier, Recorder, Governor, Systems);
        Calls = new CallPipeline(Governor, Approvals, Recorder, policies, options.Environment, options.Logging.CreateLogger<CallPipeline>());
    }

    public GatewayOptions Options { get; }

    /// <summary>The policy in force now (a reload replaces it); an operation reads it once and keeps to it.</summary>
    public Policy Policy => Policies.Current;

    /// <summary>The policy in force and how it was loaded, for the pieces that read it per operation.</summary>
    internal PolicyInForce Policies { get; }

    /// <summary>The policy's text, the checker's warnings, when it was loaded and by whom, for the console.</summary>
    internal LoadedPolicy Loaded => Policies.Loaded;

    public string Environment => Options.Environment;

    public TimeProvider Clock => Options.Clock;

    public WorkspaceStore WorkspaceStore { get; }

    public MarketingWorkspace Workspace { get; }

    /// <summary>The PostgreSQL databases the policy declares in this environment.</summary>
    public IReadOnlyList<PostgresDatabase> Databases { get; }

    /// <summary>The upstream MCP servers the policy declares in this environment.</summary>
    public IReadOnlyList<McpUpstream> Upstreams { get; }

    /// <summary>Every system governed here: the workspace, the databases and the upstream servers.</summary>
    public GovernedSystems Systems { get; }

    public AuditTrail Trail { get; }

    public GatewayStore Store { get; }

    private volatile Credentials _credentials;

    /// <summary>The tokens of the identities of the policy in force (a reload replaces them).</summary>
    public Credentials Credentials => _credentials;

    /// <summary>The identities without a token, as "agent 'x' (env:NAME)": they cannot sign in.</summary>
    public IReadOnlyList<string> WithoutToken { get; private set; } = [];

    /// <summary>Tokens made up in demo mode, by identity.</summary>
    public IReadOnlyDictionary<string, string> DemoTokens { get; private set; }

    public Guards.Guards Guards { get; }

    public Notifications.Notifier Notifier { get; }

    public Guards.KillSwitch KillSwitch { get; }

    public ApprovalDesk Approvals { get; }

    public CallPipeline Calls { get; }

    /// <summary>The one path a plan takes, for new calls and approved ones.</summary>
    public PlanGovernor Governor { get; }

    public Recorder Recorder { get; }

    public AgentAccess Access { get; }

    public Recovery Recovery { get; }

    /// <summary>The workspace tools the policy can ever grant the agent here: what it is shown, and all it may call.</summary>
    public IReadOnlySet<string> GrantedTools(Agent agent) => Access.GrantedTools(agent);

    /// <summary>What an agent reads, masked as its policy says.</summary>
    public ReadMask MaskFor(Agent agent) => Access.MaskFor(agent);

    /// <summary>Appends to the trail and waits until the entry is on the disk (see <see cref="Calls.Recorder"/>).</summary>
    public ValueTask<long> AuditAsync(AuditEntry entry) => Recorder.RecordAsync(entry);

    /// <summary>Where token references resolve (secrets in the data folder, the environment): read again for a reloaded policy's identities.</summary>
    private TokenReferences References { get; init; } = null!;

    /// <summary>Where a demo gateway keeps the tokens it made up; null when not a demo.</summary>
    private string? DemoTokensPath { get; init; }

    private readonly SemaphoreSlim _reloading = new(1, 1);

    /// <summary>
    /// Puts the policy file as it reads now in force, for every call that starts from now on, when
    /// <paramref name="person"/> may reload and the file loads and can take effect without a restart;
    /// and only when it is still the file checked (its hash, <paramref name="checkedHash"/>, when given).
    /// Calls already running finish under the policy they started with. Pending requests stay; each
    /// is decided again under the policy in force when its approvals are complete. Recorded, done or refused.
    /// </summary>
    public async Task<PolicyReloaded> ReloadPolicyAsync(string person, string? checkedHash)
    {
        await _reloading.WaitAsync().ConfigureAwait(false);
        try
        {
            var before = Policy;
            var check = PolicyReload.Check(Options, before);
            var reloaded = Decide(before, check);
            var demo = DemoTokensPath is null ? null : new Dictionary<string, string>(DemoTokens, StringComparer.Ordinal);
            Credentials? credentials = null;
            List<string> unresolved = [];
            if (reloaded.Outcome == ReloadOutcome.Reloaded)
            {
                try
                {
                    credentials = Credentials.From(check.Policy!, References, demo, out unresolved);
                }
                catch (GatewayException e)
                {
                    reloaded = reloaded with { Outcome = ReloadOutcome.Refused, Message = e.Message };
                }
            }

            if (reloaded.Outcome == ReloadOutcome.Unchanged)
            {
                return reloaded;
            }

            // Recorded first (a reload under the new hash): nothing is decided under a policy the trail does not show loaded.
            var entry = PolicyReload.Entry(Options, person, before, reloaded);
            await AuditAsync(unresolved.Count == 0 ? entry : entry with { Detail = $"{entry.Detail}; without a token (cannot sign in): {string.Join(", ", unresolved)}" })
                .ConfigureAwait(false);
            if (credentials is null)
            {
                return reloaded;
            }

            var old = _credentials;
            Policies.Replace(check.Policy!, new LoadedPolicy(check.Text!, check.Warnings, Clock.GetUtcNow(), person));
            _credentials = credentials;
            WithoutToken = unresolved;
            old.Dispose();
            credentials.Watch(Clock, change => _ = RecordCredentialsAsync(change));
            if (demo is not null)
            {
                DemoTokens = demo;
                Identity.DemoTokens.Write(DemoTokensPath!, demo);
            }

            return reloaded;
        }
        finally
        {
            _reloading.Release();
        }

        PolicyReloaded Decide(Policy before, PolicyFileCheck check) =>
            !PersonAccess.MayReload(before, person) ? new PolicyReloaded(ReloadOutcome.NotAllowed, $"{person} may not reload the policy: that takes a technical owner or a risk owner", check)
            : check.Blocker is { } blocker ? new PolicyReloaded(ReloadOutcome.Refused, $"the policy was not reloaded: {blocker}", check)
            : checkedHash is not null && checkedHash != check.Hash ? new PolicyReloaded(ReloadOutcome.Refused, $"the file changed since it was checked (it loads as {check.Hash} now, not {checkedHash}): check it again, then reload", check)
            : check.Hash == before.Hash ? new PolicyReloaded(ReloadOutcome.Unchanged, $"the file is the policy in force ({check.Hash}): nothing to reload", check)
            : new PolicyReloaded(ReloadOutcome.Reloaded, $"policy {check.Hash} is in force (it was {before.Hash})", check);
    }

    /// <summary>Loads the policy and opens the workspace, the trail and the store in the data folder.</summary>
    /// <exception cref="GatewayException">Something cannot be loaded or opened; the message says what and where.</exception>
    public static async Task<Gateway> OpenAsync(GatewayOptions options, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var (policy, policyText, warnings) = LoadPolicy(options);
        if (!policy.Environments.Contains(options.Environment))
        {
            throw new GatewayException($"the policy {options.PolicyPath} has no environment '{options.Environment}' (it has {string.Join(", ", policy.Environments)})");
        }

        var data = Path.GetFullPath(options.DataDirectory);
        // Its owner's only: the trail, its key, the stores and the tokens are in it.
        OwnerOnly.CreateFolder(data);
        OwnerOnly.Tighten(data);
        OwnerOnly.Tighten(Path.Combine(data, "secrets"));
        var opened = new List<IDisposable>();
        try
        {
            if (options.Store is { } shared)
            {
                PrepareShared(options, shared);
            }

            // The sandbox is the workspace `warden workspace seed` fills by default. With a shared
            // store, the environment's workspace is in it, for every replica.
            var workspaceStore = OpenWorkspace(options, data);
            opened.Add(workspaceStore);
            if (options.Demo && options.Environment == "sandbox" && workspaceStore.IsEmpty)
            {
                try
                {
                    WorkspaceSeeder.Seed(workspaceStore, new SeedOptions { Contacts = options.DemoContacts, Seed = 1 }, cancellationToken: cancellationToken);
                }
                catch (WorkspaceNotEmptyException) when (workspaceStore.Shared)
                {
                    // another replica starting at the same time seeded it first
                }
            }

            AuditTrail trail;
            try
            {
                var trailLog = options.Logging.CreateLogger<AuditTrail>();
                trail = AuditTrail.Open(options.Store ?? StoreLocation.Sqlite(Path.Combine(data, "audit.db")), new AuditTrailOptions
                {
                    AcceptBrokenTrailBy = options.AcceptBrokenTrailBy,
                    Survived = (what, error) => trailLog.LogError(error, "{What}", what),
                    KeyPath = options.AuditKeyPath,
                }, options.Clock);
            }
            catch (AuditTrailException e)
            {
                throw new GatewayException($"the audit trail cannot be used: {e.Message}", e);
            }

            opened.Add(trail);
            GatewayStore store;
            try
            {
                store = GatewayStore.Open(options.Store ?? StoreLocation.Sqlite(Path.Combine(data, "gateway.db")), options.Migrate);
            }
            catch (InvalidOperationException e)
            {
                throw new GatewayException(e.Message, e);
            }

            opened.Add(store);
            string? brokenTokens = null;
            var demo = options.Demo ? Identity.DemoTokens.Read(Path.Combine(data, Identity.DemoTokens.FileName(options.Environment)), out brokenTokens) : null;
            if (brokenTokens is not null)
            {
                options.Logging.CreateLogger<Gateway>().LogWarning("{Broken}", brokenTokens);
            }

            var references = new TokenReferences(Path.Combine(data, "secrets"));
            var credentials = Credentials.From(policy, references, demo, out var unresolved);
            var policies = new PolicyInForce(policy, new LoadedPolicy(policyText, warnings, options.Clock.GetUtcNow()));
            var databases = await OpenDatabasesAsync(options, policies, references, data, cancellationToken).ConfigureAwait(false);
            opened.AddRange(databases.Select(d => new Closing(d)));
            var upstreamTrail = new UpstreamTrail(options.Environment);
            var upstreams = await OpenUpstreamsAsync(options, policies, references, data, upstreamTrail, cancellationToken).ConfigureAwait(false);
            opened.AddRange(upstreams.Select(u => new Closing(u)));
            var gateway = new Gateway(options, policies, workspaceStore, trail, store, credentials, demo ?? [], databases, upstreams)
            {
                WithoutToken = unresolved, References = references, DemoTokensPath = demo is null ? null : Path.Combine(data, Identity.DemoTokens.FileName(options.Environment)),
            };
            await upstreamTrail.AttachAsync(gateway).ConfigureAwait(false);
            // What a stopped gateway left: changes applied but not recorded, then requests left running.
            await gateway.Recovery.RecoverAsync().ConfigureAwait(false);
            await gateway.Approvals.ReconcileAsync().ConfigureAwait(false);
            await gateway.AuditAsync(new AuditEntry
            {
                Kind = AuditKinds.PolicyLoad,
                Environment = options.Environment,
                Detail = $"policy {policy.Id} from {options.PolicyPath}: {policy.Agents.Count} agents, {policy.Rules.Count} rules"
                         + (unresolved.Count > 0 ? $"; without a token (cannot sign in): {string.Join(", ", unresolved)}" : ""),
                Outcome = "ok",
            }).ConfigureAwait(false);

            if (demo is not null)
            {
                Identity.DemoTokens.Write(Path.Combine(data, Identity.DemoTokens.FileName(options.Environment)), demo);
            }

            // Last, once nothing can fail any more: a failed open leaves no timer running.
            gateway.Start();
            return gateway;
        }
        catch
        {
            foreach (var item in Enumerable.Reverse(opened))
            {
                item.Dispose();
            }

            throw;
        }
    }

    /// <summary>The environment's workspace: its file in the data folder, or its schema in the store replicas share.</summary>
    private static WorkspaceStore OpenWorkspace(GatewayOptions options, string data)
    {
        if (options.Store is not { } shared)
        {
            return WorkspaceStore.Open(Path.Combine(data, options.Environment == "sandbox" ? "workspace.db" : $"workspace-{options.Environment}.db"));
        }

        try
        {
            return WorkspaceStore.Open(shared, options.Environment);
        }
        catch (Exception e) when (e is InvalidOperationException or Npgsql.NpgsqlException)
        {
            throw new GatewayException($"the workspace in the store {shared.Shown} cannot be used: {e.Message}", e);
        }
    }

    /// <summary>Before replicas share a PostgreSQL store: its schema is this build's (migrated now with <see cref="GatewayOptions.Migrate"/>).</summary>
    private static void PrepareShared(GatewayOptions options, StoreLocation shared)
    {
        try
        {
            if (options.Migrate)
            {
                StoreMigrations.Apply(shared);
            }
            else if (StoreMigrations.Read(shared).FirstOrDefault(s => s.Pending.Count > 0) is { } behind)
            {
                throw new GatewayException(
                    $"the store {shared.Shown} is not at this build's schema ({behind.Component}: {behind.Pending.Count} step(s) to apply): run `warden db migrate --store ...`, or start with --migrate");
            }
        }
        catch (InvalidOperationException e)
        {
            throw new GatewayException(e.Message, e);
        }
    }

    /// <summary>
    /// Opens the databases the policy declares in this gateway's environment, each with the
    /// connection only Warden holds and its journal in the data folder. One that cannot be reached,
    /// or whose tables or capture are missing, stops the gateway from starting, saying which and why.
    /// </summary>
    private static async Task<List<PostgresDatabase>> OpenDatabasesAsync(GatewayOptions options, PolicyInForce policies, TokenReferences references, string data, CancellationToken cancellationToken)
    {
        var policy = policies.Current;
        var databases = new List<PostgresDatabase>();
        try
        {
            foreach (var declared in policy.Declared.Where(d => d.Kind == PostgresDatabase.Kind))
            {
                if (!declared.Connections.TryGetValue(options.Environment, out var reference))
                {
                    continue; // not in this environment
                }

                if (references.Resolve(reference) is not { } connection)
                {
                    // Not connected here: its tools are offered to no one, and the start says so.
                    options.Logging.CreateLogger<Gateway>().LogWarning(
                        "System '{System}' is not governed here: its connection in {Environment} ({Reference}) is not set, so its tools are refused",
                        declared.Id, options.Environment, reference);
                    continue;
                }

                try
                {
                    databases.Add(await PostgresDatabase.OpenAsync(new PostgresOptions
                    {
                        Id = declared.Id,
                        ConnectionString = connection,
                        Tables = [.. declared.Tables.Select(t => new GovernedTable(t))],
                        // One journal per environment: gateways of both may share the data folder, and
                        // a sandbox action must not be found (settled, rolled back) against production.
                        JournalPath = Path.Combine(data, "systems", options.Environment, declared.Id + ".db"),
                        SharedJournal = options.Store is { } shared ? (shared, options.Environment) : null,
                        ClassesOf = field => policies.Current.ClassesOf(field),
                    }, options.Clock, cancellationToken).ConfigureAwait(false));
                }
                catch (Exception e) when (e is PostgresSystemException or Npgsql.NpgsqlException or ArgumentException)
                {
                    throw new GatewayException($"the database of system '{declared.Id}' cannot be governed: {e.Message}", e);
                }
            }

            return databases;
        }
        catch
        {
            foreach (var database in databases)
            {
                await database.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>
    /// Opens the upstream MCP servers the policy declares in this gateway's environment, each with
    /// the credentials only Warden holds and its pins in the data folder. One whose credential is not
    /// set is not governed here (its tools are offered to no one), and one that cannot be reached
    /// leaves the gateway serving: each says so, and a call to it is refused with why.
    /// </summary>
    private static async Task<List<McpUpstream>> OpenUpstreamsAsync(GatewayOptions options, PolicyInForce policies, TokenReferences references, string data, UpstreamTrail trail,
        CancellationToken cancellationToken)
    {
        var policy = policies.Current;
        var log = options.Logging.CreateLogger<Gateway>();
        var upstreams = new List<McpUpstream>();
        foreach (var declared in policy.Declared.Where(d => d.Kind == McpUpstream.Kind))
        {
            if (!declared.Endpoints.TryGetValue(options.Environment, out var endpoint))
            {
                continue; // not in this environment
            }

            if (endpoint.Headers.Values.Concat(endpoint.Environment.Values).FirstOrDefault(r => references.Resolve(r) is null) is { } unset)
            {
                log.LogWarning("System '{System}' is not governed here: its credential in {Environment} ({Reference}) is not set, so its tools are refused",
                    declared.Id, options.Environment, unset);
                continue;
            }

            string? classifyWith = null;
            if (declared.SqlConnection is { } sqlReference && (classifyWith = references.Resolve(sqlReference)) is null)
            {
                log.LogWarning("System '{System}' is not governed here: the connection its SQL is classified with ({Reference}) is not set, so its tools are refused",
                    declared.Id, sqlReference);
                continue;
            }

            upstreams.Add(await McpUpstream.OpenAsync(new UpstreamOptions
            {
                Sql = classifyWith is null ? null : new PostgresSqlClassification(classifyWith),
                WithholdInstructions = declared.WithholdInstructions,
                Id = declared.Id,
                Environment = options.Environment,
                Endpoint = endpoint,
                Resolve = references.Resolve,
                Annotated = [.. policy.Tools.Where(t => t.System == declared.Id)],
                // One file per environment, as a database's journal: sandbox and production servers differ.
                PinPath = Path.Combine(data, "systems", options.Environment, declared.Id + ".db"),
                SharedStore = options.Store,
                Timeout = declared.Timeout ?? TimeSpan.FromSeconds(30),
                Hidden = (agent, classes) => policies.Current.FindAgent(agent) is not { } a || classes.Any(c => !a.Sees.Contains(c)),
                ClassesOf = field => policies.Current.ClassesOf(field),
                Report = trail.RecordAsync,
                Logging = options.Logging,
            }, options.Clock, cancellationToken).ConfigureAwait(false));
            if (!upstreams[^1].Connected)
            {
                log.LogWarning("System '{System}' cannot be reached at {Endpoint}; the gateway serves, and calls to its tools are refused until it answers",
                    declared.Id, endpoint);
            }
        }

        return upstreams;
    }

    /// <summary>
    /// Records what happens between Warden and its upstream servers (what happened while the gateway
    /// was opening, once its trail is ready); a tool blocked because the server changed it opens an
    /// incident for each use case whose agents can be granted it, routed to its owners.
    /// </summary>
    private sealed class UpstreamTrail(string environment)
    {
        private readonly List<UpstreamEvent> _early = [];
        private Gateway? _gateway;

        public async Task RecordAsync(UpstreamEvent e)
        {
            Gateway? gateway;
            lock (_early)
            {
                gateway = _gateway;
                if (gateway is null)
                {
                    _early.Add(e);
                    return;
                }
            }

            await RecordAsync(gateway, e).ConfigureAwait(false);
        }

        public async Task AttachAsync(Gateway gateway)
        {
            List<UpstreamEvent> early;
            lock (_early)
            {
                _gateway = gateway;
                early = [.. _early];
                _early.Clear();
            }

            foreach (var e in early)
            {
                await RecordAsync(gateway, e).ConfigureAwait(false);
            }
        }

        private async Task RecordAsync(Gateway gateway, UpstreamEvent e)
        {
            await gateway.Recorder.RecordAsync(Entry(e)).ConfigureAwait(false);
            if (e is not { Outcome: "blocked", Tool: { } tool })
            {
                return;
            }

            var definition = gateway.Systems.Definition(gateway.Policy, tool);
            var useCases = gateway.Policy.Agents.Where(a => a.Environments.Contains(environment)
                    && definition is not null && gateway.Access.Grants(a).Any(g => g.Tool.Name == tool))
                .Select(a => a.UseCase).Distinct().Select(gateway.Policy.FindUseCase).OfType<UseCase>();
            foreach (var useCase in useCases)
            {
                gateway.KillSwitch.Open(useCase, null, "upstream_changed", e.What, gateway.Clock.GetUtcNow());
            }
        }

        private AuditEntry Entry(UpstreamEvent e) => new()
        {
            Kind = AuditKinds.Upstream,
            Environment = environment,
            Tool = e.Tool,
            Detail = e.What,
            Outcome = e.Outcome,
        };
    }

    /// <summary>Closes a database or an upstream with the files a failed open closes.</summary>
    private sealed class Closing(IAsyncDisposable system) : IDisposable
    {
        public void Dispose() => system.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Starts the gateway's timers: expiring requests, sending notifications, forgetting old usage, watching token files.</summary>
    private void Start()
    {
        Approvals.Start();
        Notifier.Start();
        Guards.Start();
        Credentials.Watch(Clock, change => _ = RecordCredentialsAsync(change));
        if (Options.Store is not null)
        {
            var every = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(1).Ticks, Math.Max(TimeSpan.FromSeconds(1).Ticks, Options.TakeOverAfter.Ticks / 2)));
            _takeOver = Clock.CreateTimer(_ => _ = TakeOverAsync(), null, every, every);
        }
    }

    private ITimer? _takeOver;
    private int _takingOver;

    /// <summary>With replicas: settles what a replica that stopped left (changes applied but not recorded, requests left executing).</summary>
    private async Task TakeOverAsync()
    {
        if (Interlocked.Exchange(ref _takingOver, 1) == 1)
        {
            return;
        }

        try
        {
            await Recovery.RecoverAsync(sweep: true).ConfigureAwait(false);
            await Approvals.ReconcileAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // tried again at the next tick; said every time, so that it is seen
            Options.Logging.CreateLogger<Gateway>().LogError(e, "Taking over what a stopped replica left failed; trying again in a minute");
        }
        finally
        {
            Volatile.Write(ref _takingOver, 0);
        }
    }

    /// <summary>Records that token files changed (rotated or revoked tokens); called from the credentials' timer.</summary>
    internal async Task RecordCredentialsAsync(string change)
    {
        try
        {
            await AuditAsync(new AuditEntry { Kind = AuditKinds.Credentials, Environment = Environment, Detail = change, Outcome = "ok" }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException or AuditTrailException)
        {
            // stopping, or the trail has failed for good and says so itself
            Options.Logging.CreateLogger<Gateway>().LogWarning(e, "A change of token files was not recorded in the trail: {Change}", change);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _takeOver?.Dispose();
        Credentials.Dispose();
        Approvals.Dispose();
        Notifier.Dispose();
        Guards.Dispose();
        await Trail.DisposeAsync().ConfigureAwait(false);
        Store.Dispose();
        WorkspaceStore.Dispose();
        foreach (var database in Databases)
        {
            await database.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var upstream in Upstreams)
        {
            await upstream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static (Policy Policy, string Text, IReadOnlyList<string> Warnings) LoadPolicy(GatewayOptions options)
    {
        string text;
        try
        {
            text = options.PolicyText ?? File.ReadAllText(options.PolicyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GatewayException($"the policy {options.PolicyPath} cannot be read: {e.Message}", e);
        }

        var result = PolicyReload.Load(text, options);
        if (!result.Succeeded)
        {
            var errors = result.Diagnostics.Where(d => d.Severity == Severity.Error).ToList();
            throw new GatewayException($"the policy {options.PolicyPath} does not load ({errors.Count} error{(errors.Count == 1 ? "" : "s")}; `warden policy check` shows them all):\n  "
                                       + string.Join("\n  ", errors.Take(10)));
        }

        return (result.Policy!, text, [.. result.Diagnostics.Where(d => d.Severity != Severity.Error).Select(d => d.ToString())]);
    }
}
