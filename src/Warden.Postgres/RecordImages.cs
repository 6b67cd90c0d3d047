using System.Buffers.Binary;
using Npgsql;

namespace Warden.Postgres;

/// <summary>
/// Reads the journal's binary images back as JSON, by the database itself: per table, a temporary
/// table of the columns the images were written with (their names from the journal, their types
/// from the images) takes them by binary COPY, which reads each one with PostgreSQL's own
/// <c>record_recv</c>, and gives them back as <c>row_to_json</c> would have written them. Only
/// a rollback pays for this; the capture, at every apply, only copies the bytes.
/// </summary>
internal static class RecordImages
{
    private static long s_next;

    // A binary COPY's header: its signature, no flags, no extension.
    private static readonly byte[] CopyHeader = [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xff, (byte)'\r', (byte)'\n', 0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>The rows with every image as JSON.</summary>
    public static async Task<List<CapturedRow>> JsonAsync(NpgsqlConnection connection, JournaledRows journaled, CancellationToken cancellationToken)
    {
        var rows = journaled.Rows;
        var json = new string?[rows.Count * 2];
        // The binary images, by table and the types of their columns (one statement's rows of a table have one shape; the grouping costs nothing to be sure).
        var shapes = new Dictionary<(string Table, string Types), List<(int At, byte[] Record)>>();
        for (var i = 0; i < rows.Count; i++)
        {
            foreach (var (image, at) in new[] { (rows[i].Before, 2 * i), (rows[i].After, 2 * i + 1) })
            {
                if (image?.Json is { } text)
                {
                    json[at] = text;
                }
                else if (image?.Record is { } record)
                {
                    var key = (rows[i].Table, string.Join(',', JournalImages.ColumnTypes(record)));
                    if (!shapes.TryGetValue(key, out var list))
                    {
                        shapes[key] = list = [];
                    }

                    list.Add((at, record));
                }
            }
        }

        foreach (var ((table, _), images) in shapes)
        {
            if (!journaled.Columns.TryGetValue(table, out var columns))
            {
                throw new InvalidDataException($"the journal keeps binary images of {table} without the names of its columns");
            }

            foreach (var (at, text) in await ReadAsync(connection, table, columns, images, cancellationToken).ConfigureAwait(false))
            {
                json[at] = text;
            }
        }

        return [.. rows.Select((r, i) => new CapturedRow(r.Table, r.Operation, json[2 * i], json[2 * i + 1]))];
    }

    private static async Task<List<(int At, string Json)>> ReadAsync(NpgsqlConnection connection, string table, IReadOnlyList<string> columns, List<(int At, byte[] Record)> images,
        CancellationToken cancellationToken)
    {
        var types = JournalImages.ColumnTypes(images[0].Record);
        if (types.Length != columns.Count)
        {
            throw new InvalidDataException($"the journal's images of {table} have {types.Length} column(s), its names for them {columns.Count}");
        }

        string definition;
        await using (var describe = new NpgsqlCommand("""
            SELECT CASE WHEN bool_and(t.oid IS NOT NULL) THEN coalesce(string_agg(format('%I %s', u.c, format_type(u.t, NULL)), ', ' ORDER BY u.i), '') END,
                   min(u.t) FILTER (WHERE t.oid IS NULL)
            FROM unnest($1::text[], $2::oid[]) WITH ORDINALITY AS u(c, t, i) LEFT JOIN pg_catalog.pg_type t ON t.oid = u.t
            """, connection))
        {
            describe.Parameters.Add(new() { Value = columns.ToArray() });
            describe.Parameters.Add(new() { Value = types, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Oid });
            await using var reader = await describe.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (reader.IsDBNull(0) && types.Length > 0)
            {
                throw new RollbackRefusedException($"the journal's images of {table} hold a column of a type (oid {reader.GetFieldValue<uint>(1)}) the database no longer has");
            }

            definition = reader.IsDBNull(0) ? "" : reader.GetString(0);
        }

        var n = Interlocked.Increment(ref s_next);
        var shape = $"pg_temp.warden_shape_{n}";
        var loaded = $"pg_temp.warden_images_{n}";
        await using (var create = new NpgsqlCommand($"CREATE TEMP TABLE warden_shape_{n} ({definition}); CREATE TEMP TABLE warden_images_{n} (at integer NOT NULL, image {shape})", connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // Dropped as soon as read (a rollback reads one action's images at a time); in a transaction that failed, its rollback drops them.
        var read = new List<(int, string)>(images.Count);
        try
        {
            await using (var copy = await connection.BeginRawBinaryCopyAsync($"COPY {loaded} (at, image) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false))
            {
                await copy.WriteAsync(CopyHeader, cancellationToken).ConfigureAwait(false);
                var field = new byte[14];
                foreach (var (at, record) in images)
                {
                    BinaryPrimitives.WriteInt16BigEndian(field, 2);
                    BinaryPrimitives.WriteInt32BigEndian(field.AsSpan(2), 4);
                    BinaryPrimitives.WriteInt32BigEndian(field.AsSpan(6), at);
                    BinaryPrimitives.WriteInt32BigEndian(field.AsSpan(10), record.Length);
                    await copy.WriteAsync(field, cancellationToken).ConfigureAwait(false);
                    await copy.WriteAsync(record, cancellationToken).ConfigureAwait(false);
                }

                await copy.WriteAsync(new byte[] { 0xff, 0xff }, cancellationToken).ConfigureAwait(false);
            }

            // Floats written exactly, as the capture function writes them (it runs with extra_float_digits = 1), whatever the session asks for.
            await using (var select = new NpgsqlCommand($"SET LOCAL extra_float_digits = 1; SELECT at, row_to_json(image)::text FROM {loaded}", connection))
            {
                await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    read.Add((reader.GetInt32(0), reader.GetString(1)));
                }
            }
        }
        finally
        {
            if (connection.FullState == System.Data.ConnectionState.Open)
            {
                await using var drop = new NpgsqlCommand($"DROP TABLE IF EXISTS {loaded}, {shape}", connection);
                try
                {
                    await drop.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InFailedSqlTransaction)
                {
                }
            }
        }

        return read;
    }
}
