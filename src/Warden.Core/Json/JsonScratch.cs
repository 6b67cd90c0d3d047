using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Warden.Core;

/// <summary>
/// A JSON writer and its buffer kept per thread, for JSON that is written and taken out at once
/// (an audit entry's body, a call's answer, a masked read): every governed call writes all three,
/// and a fresh writer and buffer for each were a tenth of the bytes a call allocated.
/// </summary>
public static class JsonScratch
{
    /// <summary>A buffer grown past this by one large text is let go after it, not kept for the thread's life.</summary>
    private const int KeptCapacity = 64 * 1024;

    /// <summary>Text escaped as the trail and the answers write it: only what JSON itself requires.</summary>
    private static readonly JsonWriterOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_relaxed;

    [ThreadStatic]
    private static Utf8JsonWriter? t_escaped;

    [ThreadStatic]
    private static bool t_busy;

    /// <summary>
    /// Writes with <paramref name="write"/> and hands the bytes written to <paramref name="take"/>,
    /// whose result is returned; the bytes are not to be kept past it, and <paramref name="write"/>
    /// must not await (an async lambda would write into the thread's buffer after it is reused). Text is escaped only as JSON
    /// requires (<see cref="JavaScriptEncoder.UnsafeRelaxedJsonEscaping"/>), or, with
    /// <paramref name="escapeHtml"/>, as the serializer escapes it by default (<c>&lt;</c> as <c>\u003C</c>).
    /// </summary>
    public static TResult Write<TState, TResult>(
        TState state, Action<Utf8JsonWriter, TState> write, Func<ReadOnlySpan<byte>, TState, TResult> take, bool escapeHtml = false)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(take);
        var options = escapeHtml ? default : Relaxed;
        if (t_busy)
        {
            // Written from inside another write on this thread: a buffer of its own.
            var own = new ArrayBufferWriter<byte>(1024);
            using (var json = new Utf8JsonWriter(own, options))
            {
                write(json, state);
            }

            return take(own.WrittenSpan, state);
        }

        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var writer = escapeHtml ? t_escaped ??= new Utf8JsonWriter(buffer, options) : t_relaxed ??= new Utf8JsonWriter(buffer, options);
        writer.Reset(buffer);
        t_busy = true;
        try
        {
            write(writer, state);
            writer.Flush();
            return take(buffer.WrittenSpan, state);
        }
        catch
        {
            // A writer that failed half-way is not used again, nor a buffer it may have grown.
            Forget();
            throw;
        }
        finally
        {
            // Zeroed, not only rewound: what was written (a contact's row, unmasked) does not stay
            // in the thread's buffer until the next write overwrites it.
            buffer.Clear();
            t_busy = false;
            if (buffer.Capacity > KeptCapacity)
            {
                Forget();
            }
        }
    }

    private static void Forget() => (t_buffer, t_relaxed, t_escaped) = (null, null, null);
}
