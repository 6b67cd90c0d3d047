using System.Buffers;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Collections.Concurrent;

namespace Warden.Postgres;

/// <summary>
/// An action's images as the journal keeps them, in one document compressed as it is written
/// (the images of a large change are tens of megabytes of much the same rows). An image is a row
/// in PostgreSQL's binary form (<c>record_send</c>: the count of columns, then each one's type,
/// length and bytes), which the capture writes at a third of the cost of JSON, with the names of
/// its table's columns kept once; or, for a table with a column that has no binary form, the JSON
/// PostgreSQL wrote. Bytes are written as PostgreSQL sent them, never decoded and encoded again.
/// <para>
/// The document: <see cref="Magic"/>, then compressed, entries of a tag byte: <c>1</c> a table
/// (its name and its columns' names, in order of first use, numbered from 0), <c>2</c> a row
/// (its table's number, its kind of change, its image before and after: a byte, 0 none, 1 JSON,
/// 2 binary, then the length and the bytes). A document without the magic is an earlier
/// Warden's: <c>[[table, op, before, after], ...]</c> of JSON images, compressed.
/// </para>
/// </summary>
internal sealed class JournalImages : IDisposable
{
    private static readonly byte[] Magic = "WJI2"u8.ToArray();
    private const byte TableEntry = 1;
    private const byte RowEntry = 2;
    private const byte NoImage = 0;
    private const byte JsonImage = 1;
    private const byte RecordImage = 2;

    private readonly MemoryStream _compressed = new();

    // A large document is compressed on a thread of its own, a megabyte at a time, while the rows are read (and digested).
    private readonly Compressor _compressor;
    private readonly BinaryWriter _writer;
    private readonly Dictionary<string, int> _tables = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _columns = new(StringComparer.Ordinal);
    private byte[]? _document;

    public JournalImages()
    {
        _compressed.Write(Magic);
        _compressor = new Compressor(new BrotliStream(_compressed, CompressionLevel.Fastest, leaveOpen: true));
        _writer = new BinaryWriter(_compressor, Encoding.UTF8, leaveOpen: true);
    }

    /// <summary>How many rows' images are written.</summary>
    public long Rows { get; private set; }

    /// <summary>How many bytes of images are written.</summary>
    public long Bytes { get; private set; }

    public static JournalImages Of(IReadOnlyList<CapturedRow> rows)
    {
        var images = new JournalImages();
        foreach (var row in rows)
        {
            images.Start(row.Table, row.Operation);
            images.Json(row.Before is null ? null : Encoding.UTF8.GetBytes(row.Before));
            images.Json(row.After is null ? null : Encoding.UTF8.GetBytes(row.After));
        }

        return images;
    }

    /// <summary>The names of a table's columns, in order, which its binary images are read by; given before its first row.</summary>
    public void Columns(string table, string[] columns) => _columns[table] = columns;

    /// <summary>Starts a row: its table and kind of change; then its image before and its image after, each <see cref="Json"/> or <see cref="Record"/>.</summary>
    public void Start(string table, string operation)
    {
        if (!_tables.TryGetValue(table, out var number))
        {
            number = _tables[table] = _tables.Count;
            _writer.Write(TableEntry);
            _writer.Write(table);
            var columns = _columns.GetValueOrDefault(table) ?? [];
            _writer.Write7BitEncodedInt(columns.Length);
            foreach (var column in columns)
            {
                _writer.Write(column);
            }
        }

        _writer.Write(RowEntry);
        _writer.Write7BitEncodedInt(number);
        _writer.Write(operation);
        Rows++;
    }

    /// <summary>An image as JSON, in UTF-8 (null: none).</summary>
    public void Json(byte[]? json) => Image(json is null ? NoImage : JsonImage, json);

    /// <summary>An image in PostgreSQL's binary form of a row (null: none).</summary>
    public void Record(byte[]? record) => Image(record is null ? NoImage : RecordImage, record);

    private void Image(byte kind, ReadOnlySpan<byte> bytes)
    {
        _writer.Write(kind);
        if (kind != NoImage)
        {
            _writer.Write7BitEncodedInt(bytes.Length);
            _writer.Write(bytes);
            Bytes += bytes.Length;
        }
    }

    /// <summary>The document, compressed (the images can take no more rows after).</summary>
    public byte[] Document()
    {
        if (_document is null)
        {
            _writer.Flush();
            _compressor.Finish();
            _document = _compressed.ToArray();
        }

        return _document;
    }

    public void Dispose()
    {
        _writer.Dispose();
        _compressor.Dispose();
        _compressed.Dispose();
    }

    /// <summary>
    /// A stream that compresses what is written to it: a document of one megabyte or less on the
    /// writer's own thread when it is finished; a larger one a megabyte at a time on a thread of
    /// its own, so Brotli's work overlaps the reading of the rows (never on the thread pool, which
    /// the writer may be holding: a writer waiting for a pool thread could wait for seconds on a
    /// loaded host). At most 16 megabytes wait.
    /// </summary>
    internal sealed class Compressor(Stream brotli) : Stream
    {
        private const int ChunkSize = 1 << 20;
        // Blocking, not async: the thread that waits, waits for the other, never for a pool thread to run a continuation.
        private readonly BlockingCollection<(byte[] Chunk, int Length)> _chunks = new(boundedCapacity: 16);
        private Exception? _failure;
        private Task? _work;
        private byte[] _chunk = ArrayPool<byte>.Shared.Rent(ChunkSize);
        private int _used;
        private bool _finished;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            while (buffer.Length > 0)
            {
                var taken = Math.Min(buffer.Length, ChunkSize - _used);
                buffer[..taken].CopyTo(_chunk.AsSpan(_used));
                _used += taken;
                buffer = buffer[taken..];
                if (_used == ChunkSize)
                {
                    Hand();
                }
            }
        }

        public override void WriteByte(byte value) => Write([value]);

        private void Work()
        {
            try
            {
                foreach (var (chunk, length) in _chunks.GetConsumingEnumerable())
                {
                    try
                    {
                        brotli.Write(chunk, 0, length);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(chunk);
                    }
                }
            }
            catch (Exception e)
            {
                // Nothing takes the chunks any more: a writer waiting for room is told, not left waiting.
                _failure = e;
                _chunks.CompleteAdding();
                throw;
            }
        }

        private void Hand()
        {
            _work ??= Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            // Waits while the compressor is 16 megabytes behind. Closed only by its failure (the writer closes it after its last chunk): that failure is thrown here.
            try
            {
                _chunks.Add((_chunk, _used));
            }
            catch (InvalidOperationException) when (_failure is not null)
            {
                throw new IOException("the journal's document could not be compressed: " + _failure.Message, _failure);
            }

            _chunk = ArrayPool<byte>.Shared.Rent(ChunkSize);
            _used = 0;
        }

        public override void Flush()
        {
        }

        /// <summary>Compresses what is left and closes the compressed stream.</summary>
        public void Finish()
        {
            if (_finished)
            {
                return;
            }

            _finished = true;
            if (_work is null)
            {
                brotli.Write(_chunk, 0, _used);
            }
            else
            {
                if (_used > 0)
                {
                    Hand();
                }

                _chunks.CompleteAdding();
                _work.GetAwaiter().GetResult();
            }

            ArrayPool<byte>.Shared.Return(_chunk);
            brotli.Dispose();
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_finished)
            {
                _finished = true;
                ArrayPool<byte>.Shared.Return(_chunk);
                if (!_chunks.IsAddingCompleted)
                {
                    _chunks.CompleteAdding();
                }

                try
                {
                    _work?.Wait();
                }
                catch (AggregateException)
                {
                    // Its failure was thrown to the writer, or nobody asks for the document any more.
                }

                brotli.Dispose();
                _chunks.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>A document's rows, in the order written.</summary>
    public static JournaledRows Read(byte[] document)
    {
        if (!document.AsSpan().StartsWith(Magic))
        {
            using var old = new BrotliStream(new MemoryStream(document), CompressionMode.Decompress);
            using var parsed = JsonDocument.Parse(old, RowJson.Images);
            return new([.. parsed.RootElement.EnumerateArray().Select(image => new JournaledRow(image[0].GetString()!, image[1].GetString()!, OldImage(image[2]), OldImage(image[3])))], JournaledRows.NoColumns);
        }

        using var brotli = new BrotliStream(new MemoryStream(document, Magic.Length, document.Length - Magic.Length), CompressionMode.Decompress);
        using var reader = new BinaryReader(brotli, Encoding.UTF8);
        var tables = new List<string>();
        var columns = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var rows = new List<JournaledRow>();
        while (Entry(reader) is { } tag)
        {
            if (tag == TableEntry)
            {
                var table = reader.ReadString();
                var names = new string[reader.Read7BitEncodedInt()];
                for (var i = 0; i < names.Length; i++)
                {
                    names[i] = reader.ReadString();
                }

                tables.Add(table);
                columns[table] = names;
            }
            else if (tag == RowEntry)
            {
                var table = tables[reader.Read7BitEncodedInt()];
                var operation = reader.ReadString();
                rows.Add(new JournaledRow(table, operation, ReadImage(reader), ReadImage(reader)));
            }
            else
            {
                throw new InvalidDataException($"the journal's document has an entry of unknown kind {tag} after {rows.Count:N0} row(s)");
            }
        }

        return new(rows, columns);
    }

    private static int? Entry(BinaryReader reader)
    {
        var tag = reader.BaseStream.ReadByte();
        return tag < 0 ? null : tag;
    }

    private static JournaledImage? ReadImage(BinaryReader reader)
    {
        var kind = reader.ReadByte();
        if (kind == NoImage)
        {
            return null;
        }

        var bytes = reader.ReadBytes(reader.Read7BitEncodedInt());
        return kind switch
        {
            JsonImage => new JournaledImage(Encoding.UTF8.GetString(bytes), null),
            RecordImage => new JournaledImage(null, bytes),
            _ => throw new InvalidDataException($"the journal's document has an image of unknown kind {kind}"),
        };
    }

    private static JournaledImage? OldImage(JsonElement image) => image.ValueKind == JsonValueKind.Null ? null : new JournaledImage(image.GetRawText(), null);

    /// <summary>The types (their oids) of a binary image's columns, in order.</summary>
    public static uint[] ColumnTypes(byte[] record)
    {
        var columns = new RecordColumns(record);
        var types = new uint[columns.Count];
        while (columns.MoveNext())
        {
            types[columns.Index] = columns.Type;
        }

        return types;
    }
}

/// <summary>A row's image in the journal: the JSON PostgreSQL wrote, or the row in its binary form.</summary>
internal sealed record JournaledImage(string? Json, byte[]? Record);

/// <summary>One row a statement changed, as the journal keeps it (no image before for an insert, after for a delete).</summary>
internal sealed record JournaledRow(string Table, string Operation, JournaledImage? Before, JournaledImage? After);

/// <summary>An action's rows as the journal keeps them, and the names of the columns of each table whose images are binary.</summary>
internal sealed record JournaledRows(IReadOnlyList<JournaledRow> Rows, IReadOnlyDictionary<string, IReadOnlyList<string>> Columns)
{
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> NoColumns = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>The rows as JSON, when every image is (an earlier Warden's, or given as JSON); binary images are read by the database (<see cref="RecordImages"/>).</summary>
    public List<CapturedRow> Json() =>
        [.. Rows.Select(r => new CapturedRow(r.Table, r.Operation, Text(r.Before), Text(r.After)))];

    private static string? Text(JournaledImage? image) =>
        image is null ? null : image.Json ?? throw new InvalidOperationException("the image is in binary form: the database reads it (RecordImages)");
}
