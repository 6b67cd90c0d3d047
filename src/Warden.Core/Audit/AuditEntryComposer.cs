using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Warden.Core.Audit;

/// <summary>
/// The trail writer's way to <see cref="AuditText.Entry(string, string, long, DateTimeOffset)"/>
/// and <see cref="AuditText.Hash"/>: composes an entry's stored text as UTF-8 in a buffer it
/// reuses, and hashes it, without a .NET string on the way (the string, its UTF-8 copy and its
/// hashing cost a fifth of an append). The same bytes, the same hash. Not thread-safe: one per writer.
/// </summary>
public sealed class AuditEntryComposer
{
    // _buffer[0] is the RFC 6962 leaf prefix, so the leaf hash is one call over the buffer.
    private byte[] _buffer = new byte[4096];
    private int _length = 1;

    /// <summary>The stored text of the entry last composed, as UTF-8.</summary>
    public ReadOnlySpan<byte> Text => _buffer.AsSpan(1, _length - 1);

    /// <summary>Composes <c>{"body":BODY,"prev":"PREV","seq":SEQ,"time":"TIME"}</c>; <paramref name="time"/> as <see cref="AuditText.Time"/> writes it.</summary>
    public void Compose(ReadOnlySpan<byte> body, string prev, long seq, string time)
    {
        ArgumentNullException.ThrowIfNull(prev);
        ArgumentNullException.ThrowIfNull(time);
        var needed = 1 + 8 + body.Length + 10 + prev.Length + 9 + 20 + 10 + time.Length + 2;
        if (_buffer.Length < needed)
        {
            _buffer = new byte[Math.Max(needed, _buffer.Length * 2)];
        }

        _buffer[0] = 0x00;
        _length = 1;
        Append("{\"body\":"u8);
        Append(body);
        Append(",\"prev\":\""u8);
        _length += Encoding.ASCII.GetBytes(prev, _buffer.AsSpan(_length));
        Append("\",\"seq\":"u8);
        Utf8Formatter.TryFormat(seq, _buffer.AsSpan(_length), out var digits);
        _length += digits;
        Append(",\"time\":\""u8);
        _length += Encoding.ASCII.GetBytes(time, _buffer.AsSpan(_length));
        Append("\"}"u8);
    }

    /// <summary>The hash of the entry last composed (as <see cref="AuditText.Hash"/>, in bytes).</summary>
    public byte[] Hash() => SHA256.HashData(_buffer.AsSpan(0, _length));

    private void Append(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }
}
