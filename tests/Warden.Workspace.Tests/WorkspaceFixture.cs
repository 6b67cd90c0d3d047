using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Warden.Tests;
using Warden.Core;

namespace Warden.Workspace.Tests;

/// <summary>
/// A small workspace in a real SQLite file, written by hand so that every expectation in a test
/// can be counted: 40 contacts (c-01..c-40) plus c-41, a duplicate of c-05 in another spelling;
/// 2 companies, 2 lists, 2 segments, a routing rule and a report reading lead_source, a suppression
/// list, a nurture flow, two campaigns and an audience sync.
/// </summary>
internal sealed class WorkspaceFixture
{
    public static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    /// <param name="postgres">The PostgreSQL server to keep the workspace in (a schema of its own in one database), or null for a SQLite file.</param>
    public WorkspaceFixture(PostgresServer? postgres = null)
    {
        if (postgres is null)
        {
            Path = Seeding.Workspaces.NewPath(); // under the run's folder, deleted when the run ends
            Store = WorkspaceStore.Open(Path);
        }
        else
        {
            // An environment of its own: the workspace's schema, created and migrated.
            _location = Storage.Engines.StoreLocation.Postgres(postgres.AdminConnection(TestDatabase(postgres)));
            _environment = "t" + Guid.NewGuid().ToString("N")[..12];
            Store = WorkspaceStore.Open(_location, _environment);
            Path = Store.Path;
            _postgres = Store.ConnectionString;
        }

        Clock = new MovingClock(Now);
        Workspace = new MarketingWorkspace(Store, Clock, field => field switch
        {
            "contacts.email" or "contacts.first_name" or "contacts.last_name" or "contacts.phone" => ["pii"],
            "contacts.email_consent" or "contacts.email_consent_at" or "contacts.email_consent_source" => ["consent"],
            _ => [],
        });
        Seed();
    }

    public string Path { get; }

    private readonly string? _postgres;
    private readonly Storage.Engines.StoreLocation? _location;
    private readonly string? _environment;

    /// <summary>
    /// The same PostgreSQL workspace opened again, as another gateway replica sharing the store
    /// opens it: its own store object and connections (pooled, as a gateway's are, when
    /// <paramref name="pooled"/>).
    /// </summary>
    public MarketingWorkspace Replica(bool pooled = false)
    {
        var location = _location ?? throw new InvalidOperationException("only a PostgreSQL workspace has replicas");
        if (pooled)
        {
            location = Storage.Engines.StoreLocation.Postgres(new Npgsql.NpgsqlConnectionStringBuilder(location.Connection) { Pooling = true }.ConnectionString);
        }

        var store = WorkspaceStore.Open(location, _environment!);
        return new MarketingWorkspace(store, Clock, _ => []);
    }

    /// <summary>True when the workspace is in PostgreSQL.</summary>
    public bool OnPostgres => _postgres is not null;

    private static readonly Lock Creating = new();
    private static string? _database;

    /// <summary>One database for every PostgreSQL workspace of the run, each in its own schema.</summary>
    private static string TestDatabase(PostgresServer server)
    {
        lock (Creating)
        {
            if (_database is null)
            {
                const string name = "workspace_tests";
                using var connection = new Npgsql.NpgsqlConnection(server.AdminConnection("postgres"));
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = $"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}";
                command.ExecuteNonQuery();
                _database = name;
            }

            return _database;
        }
    }

    /// <summary>A connection of its own to the workspace's database (for PostgreSQL, its schema).</summary>
    public System.Data.Common.DbConnection Connect()
    {
        System.Data.Common.DbConnection connection = _postgres is null ? new SqliteConnection($"Data Source={Path}") : new Npgsql.NpgsqlConnection(_postgres);
        connection.Open();
        return connection;
    }

    public WorkspaceStore Store { get; }

    public MovingClock Clock { get; }

    public MarketingWorkspace Workspace { get; }

    /// <summary>
    /// When set, <see cref="Apply"/> leaves the clock where it is: every action lands in the same
    /// millisecond, as calls of a busy gateway do, instead of a second apart.
    /// </summary>
    public bool SameInstant { get; set; }

    public static ToolCall Call(string tool, string arguments, string agent = "hygiene-bot") =>
        new(tool, JsonDocument.Parse(arguments).RootElement.Clone(), agent, "sandbox");

    public Plan Plan(string tool, string arguments, string agent = "hygiene-bot")
    {
        var plan = Workspace.Plan(Call(tool, arguments, agent));
        Assert.True(plan.Succeeded, plan.Error?.Message);
        return plan.Value!;
    }

    public AppliedAction Apply(string tool, string arguments, string agent = "hygiene-bot")
    {
        var applied = Workspace.Apply(Plan(tool, arguments, agent));
        Assert.True(applied.Succeeded, applied.Error?.Message);
        if (!SameInstant)
        {
            Clock.Advance(TimeSpan.FromSeconds(1));
        }

        return applied.Value!;
    }

    public void Execute(string sql, params (string Name, object? Value)[] parameters) => Run(sql, parameters, c => c.ExecuteNonQuery());

    public object? Scalar(string sql, params (string Name, object? Value)[] parameters) => Run(sql, parameters, c => c.ExecuteScalar());

    /// <summary>Outside the workspace, on a connection of its own: what a person or another program would do.</summary>
    private T Run<T>(string sql, (string Name, object? Value)[] parameters, Func<System.Data.Common.DbCommand, T> run)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return run(command);
    }

    public string Field(string id, string column) => Convert.ToString(Scalar($"SELECT \"{column}\" FROM contacts WHERE id = @id", ("@id", id)), System.Globalization.CultureInfo.InvariantCulture) ?? "";

    /// <summary>Every row of every table, in key order: two dumps are equal exactly when nothing was written.</summary>
    public string Dump()
    {
        using var connection = Connect();
        var tables = new List<string>();
        using (var list = connection.CreateCommand())
        {
            list.CommandText = _postgres is null
                ? "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                : "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name COLLATE \"C\"";
            using var reader = list.ExecuteReader();
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }

        var text = new StringBuilder();
        foreach (var table in tables)
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM \"{table}\" ORDER BY 1, 2";
            using var reader = command.ExecuteReader();
            text.Append("# ").Append(table).Append('\n');
            while (reader.Read())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    text.Append(reader.IsDBNull(i) ? "∅" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).Append('|');
                }

                text.Append('\n');
            }
        }

        return text.ToString();
    }

    private void Seed()
    {
        var stamp = "2025-06-01T09:00:00.000Z";
        Execute("INSERT INTO companies (id, name, domain, industry, employees, annual_revenue, country) VALUES ('co-1', 'Alpine Gear', 'alpine.example', 'retail', 120, 9000000, 'DE'), ('co-2', 'Fjord Outfitters', 'fjord.example', 'retail', 45, 2100000, 'SE')");
        for (var i = 1; i <= 40; i++)
        {
            var id = $"c-{i:D2}";
            var country = i <= 20 ? "DE" : i <= 30 ? "FR" : "US";
            var stage = i % 4 == 0 ? "mql" : "lead";
            var source = i % 3 == 0 ? "webinar" : "web";
            var consent = i % 10 == 0 ? "unsubscribed" : i % 7 == 0 ? "unknown" : "subscribed";
            Execute("""
                INSERT INTO contacts (id, email, first_name, last_name, phone, company_id, job_title, country, lifecycle_stage, lead_score, lead_source, owner,
                                      email_consent, email_consent_at, email_consent_source, legacy_region, created_at, updated_at, deleted_at, version)
                VALUES (@id, @email, @first, 'Tester', NULL, @company, 'Marketing Manager', @country, @stage, @score, @source, 'sam',
                        @consent, @stamp, 'form', NULL, @stamp, @stamp, NULL, 1)
                """, ("@id", id), ("@email", $"person{i}@example.com"), ("@first", $"Person{i}"), ("@company", i % 2 == 0 ? "co-1" : "co-2"),
                ("@country", country), ("@stage", stage), ("@score", i * 2), ("@source", source), ("@consent", consent), ("@stamp", stamp));
        }

        Execute("""
            INSERT INTO contacts (id, email, first_name, last_name, phone, company_id, job_title, country, lifecycle_stage, lead_score, lead_source, owner,
                                  email_consent, email_consent_at, email_consent_source, legacy_region, created_at, updated_at, deleted_at, version)
            VALUES ('c-41', ' Person5@Example.com', NULL, 'Tester', '+49 30 1234', 'co-1', NULL, 'AT', 'lead', 77, 'trade_show', 'lee',
                    'subscribed', @stamp, 'import', 'EMEA', @stamp, @stamp, NULL, 1)
            """, ("@stamp", stamp));
        Execute("INSERT INTO lists (id, name) VALUES ('newsletter', 'Newsletter'), ('vip', 'VIP customers')");
        Execute("INSERT INTO list_members (list_id, contact_id, added_at) VALUES ('vip', 'c-41', @at)", ("@at", stamp));
        Execute("INSERT INTO nurture_flows (id, name) VALUES ('onboarding', 'Onboarding')");
        for (var i = 1; i <= 6; i++)
        {
            Execute("INSERT INTO nurture_members (flow_id, contact_id, joined_at) VALUES ('onboarding', @c, @at)", ("@c", $"c-{i:D2}"), ("@at", stamp));
        }

        Execute("""
            INSERT INTO campaigns (id, name, status, audience, subject, content, sender, scheduled_at, sent_at, version) VALUES
            ('cmp-de', 'German leads November', 'draft', 'seg-de-leads', 'Hallo', 'Winter gear', 'news@northwind.example', NULL, NULL, 1),
            ('cmp-news', 'Newsletter', 'draft', 'newsletter', 'News', 'Hello', 'news@northwind.example', NULL, NULL, 1)
            """);
        Execute("INSERT INTO audience_syncs (id, segment_id, destination, status, last_synced_at, members) VALUES ('sync-webinar', 'seg-webinar', 'linkedin:webinar-retarget', 'never', NULL, 0)");
        for (var i = 1; i <= 10; i++)
        {
            Execute("INSERT INTO list_members (list_id, contact_id, added_at) VALUES ('newsletter', @c, @at)", ("@c", $"c-{i:D2}"), ("@at", stamp));
        }

        Execute("INSERT INTO segments (id, name, rule, version) VALUES ('seg-de-leads', 'German leads', 'country == ''DE'' && lifecycle_stage == ''lead''', 1), ('seg-webinar', 'Webinar people', 'lead_source == ''webinar''', 1)");
        Execute("INSERT INTO routing_rules (id, name, condition, owner, version) VALUES ('route-webinar', 'Webinar leads to Lee', 'lead_source == ''webinar''', 'lee', 1)");
        Execute("INSERT INTO reports (id, name) VALUES ('rep-sources', 'Leads by source')");
        Execute("""
            INSERT INTO field_dependencies (object_kind, object_id, field) VALUES
            ('segment', 'seg-de-leads', 'contacts.country'), ('segment', 'seg-de-leads', 'contacts.lifecycle_stage'),
            ('segment', 'seg-webinar', 'contacts.lead_source'), ('routing_rule', 'route-webinar', 'contacts.lead_source'),
            ('report', 'rep-sources', 'contacts.lead_source')
            """);
        Execute("INSERT INTO suppression_lists (id, name) VALUES ('global', 'Global suppression')");
        Execute("INSERT INTO suppression (list_id, email, reason, added_at) VALUES ('global', 'person3@example.com', 'complaint', @at)", ("@at", stamp));
    }
}

/// <summary>A clock tests move by hand.</summary>
internal sealed class MovingClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
