using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Warden.Storage.Engines;
using Warden.Core.Audit;

namespace Warden.Storage.Audit;

/// <summary>What to look for in the trail. Every filter is optional; pages are newest first.</summary>
public sealed record AuditQuery
{
    public string? Agent { get; init; }

    public string? UseCase { get; init; }

    public string? Tool { get; init; }

    /// <summary>allow, approve, deny, approved, denied.</summary>
    public string? Effect { get; init; }

    public string? Person { get; init; }

    /// <summary>Entries that read or changed this record.</summary>
    public string? RecordId { get; init; }

    public DateTimeOffset? From { get; init; }

    public DateTimeOffset? To { get; init; }

    /// <summary>Entries older than this sequence number: the previous page's <see cref="AuditPage.Next"/>.</summary>
    public long? Before { get; init; }

    /// <summary>At most this many entries (1 to 1,000; default 50).</summary>
    public int Limit { get; init; } = 50;
}

/// <summary>A page of entries, newest first, and where the next page starts (null at the end).</summary>
public sealed record AuditPage(IReadOnlyList<AuditRecord> Entries, long? Next);

/// <summary>
/// Reading the trail: queries for the console and CLI, exports for a SIEM or a spreadsheet,
/// inclusion proofs and the witness. Read-only connections; the trail's writer is not disturbed.
/// </summary>
public static class AuditLog
{
    // A path is the SQLite trail in that file; a StoreLocation names either engine's.

    /// <summary>As <see cref="CallsPerDay(StoreLocation, DateTimeOffset)"/>, of the SQLite trail at <paramref name="path"/>.</summary>
    public static IReadOnlyList<(string Day, int Calls, int Refused)> CallsPerDay(string path, DateTimeOffset from) => CallsPerDay(StoreLocation.Sqlite(path), from);

    /// <summary>As <see cref="Query(StoreLocation, AuditQuery)"/>, of the SQLite trail at <paramref name="path"/>.</summary>
    public static AuditPage Query(string path, AuditQuery query) => Query(StoreLocation.Sqlite(path), query);

    /// <summary>As <see cref="Values(StoreLocation, string)"/>, of the SQLite trail at <paramref name="path"/>.</summary>
    public static IReadOnlySet<string> Values(string path, string field) => Values(StoreLocation.Sqlite(path), field);

    /// <summary>As <see cref="Export(StoreLocation, TextWriter, string, DateTimeOffset?)"/>, of the SQLite trail at <paramref name="path"/>.</summary>
    public static long Export(string path, TextWriter output, string format, DateTimeOffset? since = null) => Export(StoreLocation.Sqlite(path), output, format, since);

    /// <summary>As <see cref="Missing(StoreLocation, long)"/>, of the SQLite trail at <paramref name="path"/>.</summary>
    public static string Missing(string path, long seq) => Missing(StoreLocation.Sqlite(path), seq);

    /// <summary>As <see cref="Prove(StoreLocation, long)"/>, of the SQLite trail at <paramref name="path"/>.</summary>
    public static InclusionProof Prove(string path, long seq) => Prove(StoreLocation.Sqlite(path), seq);

    /// <summary>As <see cref="Witness(StoreLocation)"/>, of the SQLite trail at <paramref name="path"/>.</summary>
    public static Witness Witness(string path) => Witness(StoreLocation.Sqlite(path));

    /// <summary>The field names of exports, in order. Stable: SIEM mappings rely on them.</summary>
    public static readonly IReadOnlyList<string> ExportFields =
    [
        "seq", "time", "kind", "environment", "agent", "use_case", "tool", "arguments", "instruction", "effect", "rule", "reason", "shadow",
        "plan_summary", "plan_hash", "records_read", "fields_read", "records_changed", "action_id", "approval_id", "person", "comment",
        "outcome", "policy_hash", "rollback_of", "rolled_back_by", "archived_through", "detail", "prev", "hash",
    ];

    /// <exception cref="ArgumentException">The query is out of range.</exception>
    /// <exception cref="AuditTrailException">The trail cannot be read.</exception>
    /// <summary>
    /// Calls recorded, and calls refused, per UTC day from <paramref name="from"/> on (days without
    /// any are absent). Entries follow time in sequence, so the first entry of the window is found
    /// by its sequence number, and only the window is read.
    /// </summary>
    public static IReadOnlyList<(string Day, int Calls, int Refused)> CallsPerDay(StoreLocation path, DateTimeOffset from)
    {
        using var connection = AuditStore.OpenReader(path);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT min(seq), max(seq) FROM audit_entries";
        long low, high;
        using (var reader = command.ExecuteReader())
        {
            if (!reader.Read() || reader.IsDBNull(0))
            {
                return [];
            }

            (low, high) = (reader.GetInt64(0), reader.GetInt64(1));
        }

        var start = AuditText.Time(from);
        command.CommandText = "SELECT time FROM audit_entries WHERE seq >= @seq ORDER BY seq LIMIT 1";
        var seq = command.Parameters.AddWithValue("@seq", 0L);
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            seq.Value = middle;
            if (command.ExecuteScalar() is string time && string.CompareOrdinal(time, start) >= 0)
            {
                high = middle;
            }
            else
            {
                low = middle + 1;
            }
        }

        command.CommandText = $"SELECT substr(time, 1, 10), count(*), sum(CASE WHEN {AuditSql.BodyField(connection, "entry", "effect")} = 'deny' THEN 1 ELSE 0 END) FROM audit_entries "
                              + $"WHERE seq >= @seq AND time >= @from AND {AuditSql.BodyField(connection, "entry", "kind")} = 'call' GROUP BY 1 ORDER BY 1";
        seq.Value = low;
        command.Parameters.AddWithValue("@from", start);
        var days = new List<(string, int, int)>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                days.Add((reader.GetString(0), Convert.ToInt32(reader.GetValue(1), CultureInfo.InvariantCulture), reader.IsDBNull(2) ? 0 : Convert.ToInt32(reader.GetValue(2), CultureInfo.InvariantCulture)));
            }
        }

        return days;
    }

    public static AuditPage Query(StoreLocation path, AuditQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > 1000)
        {
            throw new ArgumentException($"a page holds 1 to 1,000 entries, not {query.Limit}", nameof(query));
        }

        using var connection = AuditStore.OpenReader(path);
        var fields = new List<(string Field, string Value)>();
        void Filter(string field, string? value)
        {
            if (value is not null)
            {
                fields.Add((field, value));
            }
        }

        Filter("agent", query.Agent);
        Filter("use_case", query.UseCase);
        Filter("tool", query.Tool);
        Filter("effect", query.Effect);
        Filter("person", query.Person);

        // Sequence numbers follow time, so a time range is a range of seq: found by binary search
        // on the primary key, with no index on time to slow every append.
        var low = query.From is { } f ? FirstAtOrAfter(connection, AuditText.Time(f)) : 1;
        var high = query.To is { } t ? FirstAtOrAfter(connection, AuditText.Time(t.AddTicks(TimeSpan.TicksPerMillisecond))) - 1 : long.MaxValue;
        if (query.Before is { } before)
        {
            high = Math.Min(high, before - 1);
        }

        var search = new Search(connection, fields, query.RecordId, query.Limit + 1);
        if (fields.Count == 0 && query.RecordId is null)
        {
            search.Range(low, high, matchFields: false);
        }
        else
        {
            // Entries after the last checkpoint are not indexed yet: matched on their own text.
            // They are the newest, so they come first; then the checkpoints' runs, newest first.
            var indexedThrough = AuditStore.Scalar(connection, "SELECT coalesce(max(last_seq), 0) FROM audit_checkpoints");
            search.Range(Math.Max(low, indexedThrough + 1), high, matchFields: true);
            foreach (var run in Runs(connection, low, Math.Min(high, indexedThrough)))
            {
                if (search.Full)
                {
                    break;
                }

                search.Run(run, low, high);
            }
        }

        var records = search.Found;
        var next = records.Count > query.Limit ? records[query.Limit - 1].Seq : (long?)null;
        return new AuditPage([.. records.Take(query.Limit)], next);
    }

    /// <summary>
    /// Every value the trail holds for one of the fields queries filter on (agent, use_case, tool,
    /// effect, person): those its checkpoints index, and those of the entries after the last
    /// checkpoint. How a query for a value the trail has never seen is told apart from one that
    /// matched nothing this time.
    /// </summary>
    /// <exception cref="ArgumentException">Not a field queries filter on.</exception>
    public static IReadOnlySet<string> Values(StoreLocation path, string field)
    {
        if (Array.IndexOf(AuditIndexRun.Fields, field) < 0)
        {
            throw new ArgumentException($"queries filter on {string.Join(", ", AuditIndexRun.Fields)}, not {field}", nameof(field));
        }

        var values = new HashSet<string>(StringComparer.Ordinal);
        long indexedThrough;
        using (var connection = AuditStore.OpenReader(path))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT DISTINCT value FROM audit_index WHERE field = @f";
            command.Parameters.AddWithValue("@f", field);
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    values.Add(reader.GetString(0));
                }
            }

            indexedThrough = AuditStore.Scalar(connection, "SELECT coalesce(max(last_seq), 0) FROM audit_checkpoints");
        }

        long? before = null;
        while (true)
        {
            var page = Query(path, new AuditQuery { Before = before, Limit = 1000 });
            foreach (var record in page.Entries.Where(r => r.Seq > indexedThrough))
            {
                var entry = record.Entry;
                if ((field switch { "agent" => entry.Agent, "use_case" => entry.UseCase, "tool" => entry.Tool, "effect" => entry.Effect, _ => entry.Person }) is { } value)
                {
                    values.Add(value);
                }
            }

            if (page.Next is not { } next || next <= indexedThrough + 1)
            {
                return values;
            }

            before = next;
        }
    }

    /// <summary>The checkpoints that cover part of [low, high], newest first (a few thousand at most: read whole, so that the search can query while walking them).</summary>
    private static List<(long Number, long First, long Last)> Runs(DbConnection connection, long low, long high)
    {
        var runs = new List<(long, long, long)>();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT number, first_seq, last_seq FROM audit_checkpoints WHERE last_seq >= @low AND first_seq <= @high ORDER BY number DESC";
        command.Parameters.AddWithValue("@low", low);
        command.Parameters.AddWithValue("@high", high);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            runs.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)));
        }

        return runs;
    }

    /// <summary>One query's walk through the trail, newest first, until it has found what it wants.</summary>
    private sealed class Search(DbConnection connection, List<(string Field, string Value)> fields, string? recordId, int want)
    {
        public List<AuditRecord> Found { get; } = [];

        public bool Full => Found.Count >= want;

        /// <summary>The entries in [low, high] that match, read and tested on their own text.</summary>
        public void Range(long low, long high, bool matchFields)
        {
            if (low > high || Full)
            {
                return;
            }

            using var command = Command($"SELECT {RecordColumns(connection)} FROM audit_entries e WHERE e.seq BETWEEN @low AND @high{Conditions(matchFields)} ORDER BY e.seq DESC LIMIT @limit", matchFields);
            command.Parameters.AddWithValue("@low", low);
            command.Parameters.AddWithValue("@high", high);
            command.Parameters.AddWithValue("@limit", want - Found.Count);
            Read(command);
        }

        /// <summary>
        /// The entries of one checkpoint that match: those on every filter's list (the lists are
        /// exact), which read or changed the record when one is asked for (the run's filter can
        /// only rule a run out; the entry itself says).
        /// </summary>
        public void Run((long Number, long First, long Last) run, long low, long high)
        {
            if (recordId is not null && !MayHoldRecord(run.Number))
            {
                return;
            }

            low = Math.Max(low, run.First);
            high = Math.Min(high, run.Last);
            if (fields.Count == 0)
            {
                Range(low, high, matchFields: false);
                return;
            }

            List<long>? candidates = null;
            foreach (var (field, value) in fields)
            {
                var list = List(run.Number, field, value);
                candidates = candidates is null ? list : [.. candidates.Intersect(list)];
                if (candidates.Count == 0)
                {
                    return;
                }
            }

            using var command = Command($"SELECT {RecordColumns(connection)} FROM audit_entries e WHERE e.seq = @seq{Conditions(matchFields: false)}", matchFields: false);
            var seq = command.Parameters.AddWithValue("@seq", null);
            for (var i = candidates!.Count - 1; i >= 0 && !Full; i--)
            {
                if (candidates[i] >= low && candidates[i] <= high)
                {
                    seq.Value = candidates[i];
                    Read(command);
                }
            }
        }

        private bool MayHoldRecord(long checkpoint)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT filter FROM audit_record_filters WHERE checkpoint = @c";
            command.Parameters.AddWithValue("@c", checkpoint);
            return command.ExecuteScalar() is not byte[] filter || AuditRecordFilter.MayContain(filter, recordId!);
        }

        private List<long> List(long checkpoint, string field, string value)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT seqs FROM audit_index WHERE checkpoint = @c AND field = @f AND value = @v";
            command.Parameters.AddWithValue("@c", checkpoint);
            command.Parameters.AddWithValue("@f", field);
            command.Parameters.AddWithValue("@v", value);
            return command.ExecuteScalar() is string text ? AuditIndexLists.Parse(text) ?? [] : [];
        }

        /// <summary>The filters as conditions on the entry's own text (fields only when asked; the record always).</summary>
        private string Conditions(bool matchFields)
        {
            var conditions = new StringBuilder();
            if (matchFields)
            {
                for (var i = 0; i < fields.Count; i++)
                {
                    conditions.Append($" AND {AuditSql.BodyField(connection, "e.entry", fields[i].Field)} = @v{i}");
                }
            }

            if (recordId is not null)
            {
                conditions.Append($" AND ({AuditSql.BodyListHolds(connection, "e.entry", "records_read", "@record")} OR {AuditSql.BodyListHolds(connection, "e.entry", "records_changed", "@record")})");
            }

            return conditions.ToString();
        }

        private DbCommand Command(string sql, bool matchFields)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            if (matchFields)
            {
                for (var i = 0; i < fields.Count; i++)
                {
                    command.Parameters.AddWithValue($"@v{i}", fields[i].Value);
                }
            }

            if (recordId is not null)
            {
                command.Parameters.AddWithValue("@record", recordId);
            }

            return command;
        }

        private void Read(DbCommand command)
        {
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                Found.Add(Record(reader));
            }
        }
    }

    /// <summary>Writes every entry from <paramref name="since"/> on, oldest first, as JSON lines or CSV, streaming.</summary>
    /// <exception cref="ArgumentException">The format is neither jsonl nor csv.</exception>
    public static long Export(StoreLocation path, TextWriter output, string format, DateTimeOffset? since = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (format is not ("jsonl" or "csv"))
        {
            throw new ArgumentException($"the export format is jsonl or csv, not '{format}'", nameof(format));
        }

        using var connection = AuditStore.OpenReader(path);
        var start = since is { } s ? FirstAtOrAfter(connection, AuditText.Time(s)) : 1;
        if (format == "csv")
        {
            output.Write(string.Join(',', ExportFields));
            output.Write("\r\n");
        }

        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {RecordColumns(connection)} FROM audit_entries e WHERE e.seq >= @start ORDER BY e.seq";
        command.Parameters.AddWithValue("@start", start);
        using var reader = command.ExecuteReader();
        long written = 0;
        while (reader.Read())
        {
            var fields = Fields(Record(reader));
            if (format == "jsonl")
            {
                output.Write(Json(fields));
                output.Write('\n');
            }
            else
            {
                output.Write(string.Join(',', fields.Select(f => Csv(f.Value))));
                output.Write("\r\n");
            }

            written++;
        }

        return written;
    }

    /// <summary>The proof that entry <paramref name="seq"/> is in the checkpoint that covers it.</summary>
    /// <summary>Why the trail holds no entry <paramref name="seq"/>: it was archived, or the trail does not reach it.</summary>
    public static string Missing(StoreLocation path, long seq)
    {
        using var connection = AuditStore.OpenReader(path);
        return Missing(connection, seq);
    }

    private static string Missing(DbConnection connection, long seq)
    {
        var archived = AuditStore.Archived(connection).Through;
        return seq >= 1 && seq <= archived
            ? $"entry {seq} was moved to an archive file (entries up to {archived} are archived); `warden audit verify --archive FILE` checks it there"
            : $"the trail has no entry {seq} (it ends at entry {Math.Max(AuditStore.LastEntry(connection)?.Seq ?? 0, archived)})";
    }

    /// <exception cref="AuditTrailException">There is no such entry, or no checkpoint covers it yet.</exception>
    public static InclusionProof Prove(StoreLocation path, long seq)
    {
        using var connection = AuditStore.OpenReader(path);
        var (trailId, _) = AuditStore.ReadIdentity(connection, path.Shown);
        using var find = connection.CreateCommand();
        find.CommandText = "SELECT checkpoint FROM audit_checkpoints WHERE first_seq <= @seq AND last_seq >= @seq";
        find.Parameters.AddWithValue("@seq", seq);
        var entry = Text(connection, "SELECT entry FROM audit_entries WHERE seq = @seq", seq) ?? throw new AuditTrailException(Missing(connection, seq));
        if (find.ExecuteScalar() is not string text || !Checkpoint.TryParse(text, out var checkpoint, out _))
        {
            throw new AuditTrailException($"entry {seq} is not in a checkpoint yet; one is signed every few thousand entries or minutes (or run `warden audit checkpoint`)");
        }

        using var leaves = connection.CreateCommand();
        leaves.CommandText = "SELECT hash FROM audit_entries WHERE seq BETWEEN @first AND @last ORDER BY seq";
        leaves.Parameters.AddWithValue("@first", checkpoint!.FirstSeq);
        leaves.Parameters.AddWithValue("@last", checkpoint.LastSeq);
        var hashes = new List<byte[]>();
        using (var reader = leaves.ExecuteReader())
        {
            while (reader.Read())
            {
                hashes.Add(Convert.FromHexString(reader.GetString(0)));
            }
        }

        var index = (int)(seq - checkpoint.FirstSeq);
        if (hashes.Count != checkpoint.Entries)
        {
            throw new AuditTrailException($"{checkpoint} covers {checkpoint.Entries} entries but the trail holds {hashes.Count} of them: run `warden audit verify`");
        }

        var path2 = Merkle.InclusionPath(hashes, index).Select(Convert.ToHexStringLower).ToList();
        return new InclusionProof(trailId!, entry, index, hashes.Count, path2, checkpoint);
    }

    /// <summary>The witness of the trail as it is now: its public key, every checkpoint and its archive files.</summary>
    public static Witness Witness(StoreLocation path)
    {
        using var connection = AuditStore.OpenReader(path);
        var (trailId, publicKey) = AuditStore.ReadIdentity(connection, path.Shown);
        if (trailId is null)
        {
            throw new AuditTrailException($"the audit trail {path} has no identity yet");
        }

        var checkpoints = new List<Checkpoint>();
        foreach (var (number, text) in AuditStore.Checkpoints(connection))
        {
            if (!Checkpoint.TryParse(text, out var checkpoint, out var why))
            {
                throw new AuditTrailException($"checkpoint {number} of {path} is unreadable ({why}); run `warden audit verify`");
            }

            checkpoints.Add(checkpoint!);
        }

        return new Witness(trailId, publicKey!, checkpoints) { Archives = AuditStore.ArchiveRecords(connection) };
    }

    private static long FirstAtOrAfter(DbConnection connection, string time)
    {
        var low = 1L;
        var high = (AuditStore.LastEntry(connection)?.Seq ?? 0) + 1;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            var at = Text(connection, "SELECT time FROM audit_entries WHERE seq >= @seq ORDER BY seq LIMIT 1", middle);
            if (at is null || string.CompareOrdinal(at, time) >= 0)
            {
                high = middle;
            }
            else
            {
                low = middle + 1;
            }
        }

        return low;
    }

    private static string? Text(DbConnection connection, string sql, long seq)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@seq", seq);
        return command.ExecuteScalar() as string;
    }

    /// <summary>
    /// The columns <see cref="Record"/> reads from an <c>audit_entries e</c> row: the entry, and
    /// the rollbacks that name it, looked up in the same statement (the trail is append-only, so
    /// the link from an action to its rollback is found, not stored).
    /// </summary>
    private static string RecordColumns(DbConnection connection) => "e.seq, e.entry, e.hash, " + AuditSql.RollbacksOf(connection);

    private static AuditRecord Record(DbDataReader reader) => AuditText.Read(reader.GetString(1), reader.GetString(2)) with
    {
        RolledBackBy = reader.IsDBNull(3) ? [] : [.. reader.GetString(3).Split(',').Select(x => long.Parse(x, CultureInfo.InvariantCulture))],
    };

    private static List<KeyValuePair<string, object?>> Fields(AuditRecord record)
    {
        var e = record.Entry;
        object? List(IReadOnlyList<string> values) => values.Count == 0 ? null : values;
        return
        [
            new("seq", record.Seq), new("time", AuditText.Time(record.Time)), new("kind", e.Kind), new("environment", e.Environment), new("agent", e.Agent),
            new("use_case", e.UseCase), new("tool", e.Tool), new("arguments", e.Arguments), new("instruction", e.Instruction), new("effect", e.Effect),
            new("rule", e.Rule), new("reason", e.Reason), new("shadow", List(e.Shadow)), new("plan_summary", e.PlanSummary), new("plan_hash", e.PlanHash),
            new("records_read", List(e.RecordsRead)), new("fields_read", List(e.FieldsRead)), new("records_changed", List(e.RecordsChanged)),
            new("action_id", e.ActionId), new("approval_id", e.ApprovalId), new("person", e.Person), new("comment", e.Comment), new("outcome", e.Outcome),
            new("policy_hash", e.PolicyHash), new("rollback_of", e.RollbackOf), new("rolled_back_by", record.RolledBackBy.Count == 0 ? null : record.RolledBackBy),
            new("archived_through", e.ArchivedThrough), new("detail", e.Detail), new("prev", record.Prev), new("hash", record.Hash),
        ];
    }

    private static string Json(List<KeyValuePair<string, object?>> fields)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            foreach (var (name, value) in fields)
            {
                w.WritePropertyName(name);
                switch (value)
                {
                    case null:
                        w.WriteNullValue();
                        break;
                    case long n:
                        w.WriteNumberValue(n);
                        break;
                    case JsonElement json:
                        json.WriteTo(w);
                        break;
                    case IEnumerable<string> strings:
                        w.WriteStartArray();
                        foreach (var s in strings)
                        {
                            w.WriteStringValue(s);
                        }

                        w.WriteEndArray();
                        break;
                    case IEnumerable<long> numbers:
                        w.WriteStartArray();
                        foreach (var n in numbers)
                        {
                            w.WriteNumberValue(n);
                        }

                        w.WriteEndArray();
                        break;
                    default:
                        w.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                        break;
                }
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>RFC 4180 quoting; lists joined with ';'; arguments as their JSON text. A leading =, +, -, @, tab or CR is quoted with a ' so a spreadsheet shows it instead of running it.</summary>
    private static string Csv(object? value)
    {
        var text = value switch
        {
            null => "",
            JsonElement json => json.GetRawText(),
            IEnumerable<string> strings => string.Join(';', strings),
            IEnumerable<long> numbers => string.Join(';', numbers),
            _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
        };
        if (text.Length > 0 && "=+-@\t\r".Contains(text[0]) && value is not long)
        {
            text = "'" + text;
        }

        return text.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
    }
}
