using System.Text.Json;
using Warden.Core;
using Warden.Tests;

namespace Warden.Postgres.Tests;

/// <summary>
/// A marketing warehouse in its own database for one test: <c>contacts</c> (email and names are
/// pii, consent is consent), <c>events</c> (no primary key), and <c>contacts_backup</c>, which is not
/// governed. Warden connects with its own role, which owns the governed tables (so that a schema
/// change, held for people, can run) and has no privilege on anything else; the capture trigger is
/// installed by a superuser.
/// </summary>
public sealed class Warehouse : IAsyncDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "warden-wh-" + Guid.NewGuid().ToString("N")[..12]);

    private Warehouse(PostgresServer server, string database)
    {
        Server = server;
        Database = database;
    }

    public PostgresServer Server { get; }

    public string Database { get; }

    public PostgresDatabase System { get; private set; } = null!;

    public string JournalPath => Path.Combine(_folder, "warehouse-journal.db");

    public static IReadOnlyList<GovernedTable> Tables { get; } =
    [
        new("contacts", new Dictionary<string, IReadOnlyList<string>>
        {
            ["email"] = ["pii"],
            ["first_name"] = ["pii"],
            ["consent"] = ["consent"],
        }),
        new("events"),
    ];

    public static async Task<Warehouse> CreateAsync(PostgresServer server, int contacts = 5000)
    {
        var database = await server.CreateDatabaseAsync();
        var warehouse = new Warehouse(server, database);
        await server.ExecuteAsync(database, $"""
            CREATE TABLE contacts (
              id bigint PRIMARY KEY,
              email text NOT NULL,
              first_name text,
              consent boolean NOT NULL DEFAULT false,
              score numeric(10, 3),
              weight double precision,
              last_seen timestamptz,
              tags text[],
              photo bytea,
              attrs jsonb,
              email_domain text GENERATED ALWAYS AS (split_part(email, '@', 2)) STORED
            );
            INSERT INTO contacts (id, email, first_name, consent, score, weight, last_seen, tags, photo, attrs)
            SELECT g, 'person' || g || '@example.com', 'Name' || g, g % 3 = 0, g * 1.125, g / 7.0,
                   timestamptz '2026-01-01 00:00:00+00' + g * interval '1 hour 1.000001 second',
                   ARRAY['t' || (g % 5), 'x'], decode(md5(g::text), 'hex'), jsonb_build_object('n', g, 'odd', g % 2 = 1)
            FROM generate_series(1, {contacts}) g;
            CREATE TABLE events (at timestamptz, contact_id bigint, kind text);
            INSERT INTO events SELECT now(), g, 'open' FROM generate_series(1, 100) g;
            CREATE TABLE contacts_backup AS SELECT * FROM contacts;
            ALTER TABLE contacts OWNER TO {PostgresServer.GovernedRole};
            ALTER TABLE events OWNER TO {PostgresServer.GovernedRole};
            """);
        await PostgresDatabase.InstallAsync(server.AdminConnection(database), Tables);
        warehouse.System = await warehouse.OpenAsync();
        return warehouse;
    }

    /// <summary>The warehouse as a system: its tables, as the governed role, journaled in its folder (a test changes what it tries with <c>with</c>).</summary>
    public PostgresOptions Options => new()
    {
        Id = "warehouse",
        ConnectionString = Server.Governed(Database),
        Tables = Tables,
        JournalPath = JournalPath,
    };

    public Task<PostgresDatabase> OpenAsync(TimeProvider? clock = null) => PostgresDatabase.OpenAsync(Options with { RowCap = 100 }, clock);

    /// <summary>
    /// Creates more governed tables next to the warehouse's (by <paramref name="sql"/>, as the
    /// admin, then owned by the governed role), installs the capture on all of them, and opens a
    /// system that governs them all.
    /// </summary>
    public async Task<PostgresDatabase> OpenWithTablesAsync(string sql, params string[] names)
    {
        await Server.ExecuteAsync(Database, sql + ";" + string.Concat(names.Select(n => $"ALTER TABLE {n} OWNER TO {PostgresServer.GovernedRole};")));
        GovernedTable[] tables = [.. Tables, .. names.Select(n => new GovernedTable(n))];
        await PostgresDatabase.InstallAsync(Server.AdminConnection(Database), tables, TestContext.Current.CancellationToken);
        return await PostgresDatabase.OpenAsync(Options with { Tables = tables }, cancellationToken: TestContext.Current.CancellationToken);
    }

    public static ToolCall Call(string tool, string sql, params string[] parameters) =>
        new("warehouse." + tool, JsonSerializer.SerializeToElement(tool == "describe" ? new { } : parameters.Length == 0 ? (object)new { sql } : new { sql, @params = parameters }), "cleanup-bot", "sandbox");

    public Plan Plan(string tool, string sql, params string[] parameters) => System.Plan(Call(tool, sql, parameters)).Get();

    public SystemError Refusal(string tool, string sql, params string[] parameters)
    {
        var result = System.Plan(Call(tool, sql, parameters));
        return result.Error ?? throw new Xunit.Sdk.XunitException($"expected a refusal, got a plan: {result.Value!.Summary}");
    }

    public async Task<AppliedAction> RunAsync(string tool, string sql, params string[] parameters) =>
        (await ApplyAsync(Plan(tool, sql, parameters))).Get();

    public Task<SystemResult<AppliedAction>> ApplyAsync(Plan plan, ApplyControl? control = null) =>
        System.ApplyAsync(plan, control, TestContext.Current.CancellationToken);

    public Task<SystemResult<RollbackResult>> RollBackAsync(RollbackRequest request, ConflictResolution resolution = ConflictResolution.Skip) =>
        System.RollBackAsync(request, resolution, "maria", TestContext.Current.CancellationToken);

    public Task<long> CountAsync(string table = "contacts", string where = "true") => Server.ScalarAsync<long>(Database, $"SELECT count(*) FROM {table} WHERE {where}");

    /// <summary>Every byte of the table, in key order: what "restored exactly" compares.</summary>
    public Task<string> FingerprintAsync(string table = "contacts") =>
        Server.ScalarAsync<string>(Database, $"SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY id), '')) FROM {table} t");

    public async ValueTask DisposeAsync()
    {
        if (System is not null)
        {
            await System.DisposeAsync();
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
