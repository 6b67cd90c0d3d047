using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Warden.Gateway.Mcp;

/// <summary>
/// Standard input and output for the MCP SDK's stream transport, with each message from the client
/// screened first (<see cref="JsonRpcScreen"/>): a refused message is answered on the output here
/// and never reaches the SDK. Lines end as the SDK's reader ends them (LF, CR or CRLF), so a message
/// cannot hide behind a lone CR; a line longer than the gateway takes over HTTP is refused too. The
/// output writes whole lines under one lock, so an answer from here and one from the SDK never
/// interleave.
/// </summary>
internal sealed class ScreenedStdio(Stream input, Stream output, long maxLineBytes) : IAsyncDisposable
{
    private readonly LineOutput _output = new(output);

    public Stream Input => field ??= new ScreenedInput(PipeReader.Create(input), _output, maxLineBytes);

    public Stream Output => _output;

    public async ValueTask DisposeAsync()
    {
        await Input.DisposeAsync().ConfigureAwait(false);
        await _output.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Hands the SDK the client's lines that pass the screen, one at a time.</summary>
    private sealed class ScreenedInput(PipeReader reader, LineOutput output, long maxLineBytes) : Stream
    {
        private byte[] _line = [];
        private int _offset;
        private long _scanned;
        private bool _skippingLong;
        private bool _afterCr;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_offset == _line.Length)
            {
                if (await NextLineAsync(cancellationToken).ConfigureAwait(false) is not { } line)
                {
                    return 0;
                }

                if (line.AsSpan().Trim(" \t"u8).IsEmpty)
                {
                    continue;
                }

                var screened = JsonRpcScreen.Check(line);
                if (!screened.Passes)
                {
                    if (screened.IsNotification)
                    {
                        // JSON-RPC answers no notification; the operator hears of it.
                        await Console.Error.WriteLineAsync($"warden: refused a notification: {screened.Answer}").ConfigureAwait(false);
                    }
                    else
                    {
                        await output.WriteLineAsync(screened.Answer!).ConfigureAwait(false);
                    }

                    continue;
                }

                _line = [.. screened.Message.Span, (byte)'\n'];
                _offset = 0;
            }

            var count = Math.Min(buffer.Length, _line.Length - _offset);
            _line.AsMemory(_offset, count).CopyTo(buffer);
            _offset += count;
            return count;
        }

        /// <summary>The next line without its end, or null at the end of the input.</summary>
        private async Task<byte[]?> NextLineAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (_afterCr && buffer.Length > 0)
                {
                    // CRLF is one line end: the LF after a CR that ended a line is skipped.
                    _afterCr = false;
                    if (buffer.FirstSpan[0] == (byte)'\n')
                    {
                        buffer = buffer.Slice(1);
                        reader.AdvanceTo(buffer.Start);
                        continue;
                    }
                }

                // Only what arrived since the last look is searched, so a long line costs once.
                var unseen = new SequenceReader<byte>(buffer.Slice(_scanned));
                if (unseen.TryAdvanceToAny("\r\n"u8, advancePastDelimiter: false))
                {
                    var at = unseen.Position;
                    var line = buffer.Slice(0, at);
                    var endByte = buffer.Slice(at, 1).FirstSpan[0];
                    var skipped = _skippingLong;
                    var bytes = skipped || line.Length > maxLineBytes ? null : line.ToArray();
                    reader.AdvanceTo(buffer.GetPosition(1, at));
                    _scanned = 0;
                    _skippingLong = false;
                    _afterCr = endByte == (byte)'\r';
                    if (bytes is not null)
                    {
                        return bytes;
                    }

                    if (!skipped)
                    {
                        await RefuseLongAsync().ConfigureAwait(false);
                    }

                    continue;
                }

                if (result.IsCompleted)
                {
                    var last = buffer.IsEmpty || _skippingLong || buffer.Length > maxLineBytes ? null : buffer.ToArray();
                    reader.AdvanceTo(buffer.End);
                    return last;
                }

                if (buffer.Length > maxLineBytes)
                {
                    // Too long to be a message: answered once, and dropped until its end.
                    if (!_skippingLong)
                    {
                        _skippingLong = true;
                        await RefuseLongAsync().ConfigureAwait(false);
                    }

                    reader.AdvanceTo(buffer.End);
                    _scanned = 0;
                    continue;
                }

                _scanned = buffer.Length;
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }

        private Task RefuseLongAsync() =>
            output.WriteLineAsync(JsonRpcScreen.Error(null, -32600, $"the message is longer than the {maxLineBytes:N0} bytes the gateway takes; nothing was run"));

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask DisposeAsync()
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Writes to the real output a whole line at a time, under one lock.</summary>
    /// <remarks>
    /// Not cancellable once a write has begun: a message cut half-way, or left waiting for its line
    /// end, would run into the next one and cost the client both.
    /// </remarks>
    private sealed class LineOutput(Stream inner) : Stream
    {
        private readonly SemaphoreSlim _lock = new(1, 1);
        private readonly ArrayBufferWriter<byte> _pending = new();

        public async Task WriteLineAsync(string line)
        {
            await _lock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                await inner.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), CancellationToken.None).ConfigureAwait(false);
                await inner.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                _lock.Release();
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await _lock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                _pending.Write(buffer.Span);
                var written = _pending.WrittenMemory;
                var end = written.Span.LastIndexOf((byte)'\n');
                if (end < 0)
                {
                    return;
                }

                var rest = written[(end + 1)..].ToArray();
                try
                {
                    await inner.WriteAsync(written[..(end + 1)], CancellationToken.None).ConfigureAwait(false);
                    await inner.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }
                finally
                {
                    _pending.Clear();
                    _pending.Write(rest);
                }
            }
            finally
            {
                _lock.Release();
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        // Whole lines are flushed as they complete; a partial line waits for its end.
        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Flush() { }

        public override async ValueTask DisposeAsync()
        {
            _lock.Dispose();
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
