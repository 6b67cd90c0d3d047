using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

// The ungoverned baseline: `contacts.get` served over the same MCP SDK, Streamable HTTP transport
// (stateless, as the gateway runs it) and SQLite file as Warden, with one query and no
// authentication, policy, audit or masking. What Warden's governed read costs is measured against
// this (bench/governance-cost.sh), not against an in-process call.
//
//   dotnet bench/Warden.Baseline/bin/Release/net10.0/Warden.Baseline.dll --workspace FILE --port N

var workspace = Argument("--workspace") ?? throw new ArgumentException("--workspace FILE: the workspace database `warden workspace seed` wrote");
var port = Argument("--port") ?? "8788";
if (!File.Exists(workspace))
{
    Console.Error.WriteLine($"baseline: no workspace at {workspace}");
    return 2;
}

var contacts = new ContactReader(workspace);
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
builder.Logging.ClearProviders();
builder.Services
    .AddMcpServer(options => options.ServerInfo = new Implementation { Name = "baseline", Version = "1.0.0" })
    .WithHttpTransport(options => options.Stateless = true)
    .WithListToolsHandler((_, _) => ValueTask.FromResult(new ListToolsResult
    {
        Tools =
        [
            new Tool
            {
                Name = "contacts.get",
                Description = "One contact, all fields.",
                InputSchema = JsonDocument.Parse("""{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}""").RootElement,
            },
        ],
    }))
    .WithCallToolHandler((context, _) =>
    {
        if (context.Params?.Name != "contacts.get")
        {
            throw new McpProtocolException($"no tool '{context.Params?.Name}'", McpErrorCode.InvalidParams);
        }

        if (context.Params.Arguments?.TryGetValue("id", out var id) != true || id.ValueKind != JsonValueKind.String)
        {
            throw new McpProtocolException("contacts.get needs id, a string", McpErrorCode.InvalidParams);
        }

        var json = contacts.Get(id.GetString()!);
        return ValueTask.FromResult(new CallToolResult
        {
            Content = [new TextContentBlock { Text = json ?? $"there is no contact '{id.GetString()}'" }],
            IsError = json is null,
        });
    });
var app = builder.Build();
app.MapMcp("/mcp");
app.MapGet("/health", () => "ok");
app.Run();
return 0;

string? Argument(string name)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

/// <summary>One query per call on a pooled read-only connection; the row written as a JSON object.</summary>
internal sealed class ContactReader
{
    private readonly string _connectionString;
    private readonly string _select;

    public ContactReader(string path)
    {
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = true }.ToString();
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM pragma_table_info('contacts') WHERE name <> 'version' ORDER BY cid";
        using var reader = command.ExecuteReader();
        var columns = new List<string>();
        while (reader.Read())
        {
            columns.Add('"' + reader.GetString(0) + '"');
        }

        // Every field but the row's version, as Warden's contacts.get returns it.
        _select = $"SELECT {string.Join(", ", columns)} FROM contacts WHERE id = @id AND deleted_at IS NULL";
    }

    public string? Get(string id)
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = _select;
        command.Parameters.AddWithValue("@id", id);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            for (var i = 0; i < reader.FieldCount; i++)
            {
                json.WritePropertyName(reader.GetName(i));
                switch (reader.IsDBNull(i) ? null : reader.GetValue(i))
                {
                    case null: json.WriteNullValue(); break;
                    case long n: json.WriteNumberValue(n); break;
                    case double d: json.WriteNumberValue(d); break;
                    case string s: json.WriteStringValue(s); break;
                    case var other: json.WriteStringValue(Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture)); break;
                }
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
