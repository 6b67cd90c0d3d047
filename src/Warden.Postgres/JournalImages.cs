using System.Buffers;
using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace Warden.Postgres;

/// <summary>
/// An action's images as the journal keeps them: one JSON document, <c>[[table, op, before,
/// after], ...]</c>, each image the JSON PostgreSQL wrote (or null), compressed as it is written,
/// since the images of a large change are tens of megabytes of much the same rows. Images are
/// written as the bytes PostgreSQL sent, never decoded into strings and encoded again.
/// </summary>
internal sealed class JournalImages : IDisposable
{
    private static readonly byte[] Null = "null"u8.ToArray();
    private readonly MemoryStream _compressed = new();
    private readonly BrotliStream _compressor;

    // Brotli compresses each write it is given: small writes go through a buffer.
    private readonly BufferedStream _brotli;
    private readonly Dictionary<string, byte[]> _tables = new(StringComparer.Ordinal);
    private byte[]? _document;

    public JournalImages()
    {
        _compressor = new BrotliStream(_compressed, CompressionLevel.Fastest, leaveOpen: true);
        _brotli = new BufferedStream(_compressor, 1 << 16);
        _brotli.WriteByte((byte)'[');
    }

    /// <summary>How many rows' images are written.</summary>
    public long Rows { get; private set; }

    /// <summary>How many bytes of images are written (of UTF-8, as PostgreSQL sends them).</summary>
    public long Bytes { get; private set; }

    public static JournalImages Of(IReadOnlyList<CapturedRow> rows)
    {
        var images = new JournalImages();
        foreach (var row in rows)
        {
            images.Start(row.Table, row.Operation);
            images.Image(row.Before is null ? null : Encoding.UTF8.GetBytes(row.Before));
            images.Next();
            images.Image(row.After is null ? null : Encoding.UTF8.GetBytes(row.After));
            images.End();
        }

        return images;
    }

    /// <summary>Starts a row: its table and kind of change; then its image before, <see cref="Next"/>, its image after, <see cref="End"/>.</summary>
    public void Start(string table, string operation)
    {
        _brotli.Write(Rows == 0 ? "["u8 : ",["u8);
        _brotli.Write(_tables.TryGetValue(table, out var quoted) ? quoted : _tables[table] = JsonSerializer.SerializeToUtf8Bytes(table));
        _brotli.Write(",\""u8);
        _brotli.Write(Encoding.UTF8.GetBytes(operation));
        _brotli.Write("\","u8);
    }

    public void Image(ReadOnlySpan<byte> json)
    {
        _brotli.Write(json);
        Bytes += json.Length;
    }

    public void Image(byte[]? json) => Image(json is null ? Null : (ReadOnlySpan<byte>)json);

    /// <summary>An image read from a stream (a column PostgreSQL sends, in UTF-8).</summary>
    public async Task ImageAsync(Stream json, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            int read;
            while ((read = await json.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                Image(buffer.AsSpan(0, read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Next() => _brotli.WriteByte((byte)',');

    public void End()
    {
        _brotli.WriteByte((byte)']');
        Rows++;
    }

    /// <summary>The document, compressed (the images can take no more rows after).</summary>
    public byte[] Document()
    {
        if (_document is null)
        {
            _brotli.WriteByte((byte)']');
            _brotli.Dispose();
            _compressor.Dispose();
            _document = _compressed.ToArray();
        }

        return _document;
    }

    public void Dispose()
    {
        _brotli.Dispose();
        _compressor.Dispose();
        _compressed.Dispose();
    }
}
