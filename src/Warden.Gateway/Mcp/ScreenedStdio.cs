using System.Buffers;
using System.IO.Pipelines;

namespace Warden.Gateway.Mcp;

/// <summary>
/// Standard input and output for the MCP SDK's stream transport, with each line from the client
/// screened first (<see cref="JsonRpcScreen"/>): a refused message is answered on the output here
/// and never reaches the SDK. The output writes whole lines under one lock, so an answer from here
/// and one from the SDK never interleave.
/// </summary>
internal sealed class ScreenedStdio(Stream input, Stream output) : IAsyncDisposable
{
    private readonly LineOutput _output = new(output);

    public Stream Input => field ??= new ScreenedInput(PipeReader.Create(input), _output);

    public Stream Output => _output;

    public async ValueTask DisposeAsync()
    {
        await Input.DisposeAsync().ConfigureAwait(false);
        await _output.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Hands the SDK the client's lines that pass the screen, one at a time.</summary>
    private sealed class ScreenedInput(PipeReader reader, LineOutput output) : Stream
    {
        private byte[] _line = [];
        private int _offset;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_offset == _line.Length)
            {
                if (await NextLineAsync(cancellationToken).ConfigureAwait(false) is not { } line)
                {
                    return 0;
                }

                if (JsonRpcScreen.Refusal(line) is { } refusal)
                {
                    await output.WriteLineAsync(refusal.Answer, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                _line = [.. line, (byte)'\n'];
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
                if (buffer.PositionOf((byte)'\n') is { } end)
                {
                    var line = buffer.Slice(0, end).ToArray();
                    reader.AdvanceTo(buffer.GetPosition(1, end));
                    return line;
                }

                if (result.IsCompleted)
                {
                    var last = buffer.IsEmpty ? null : buffer.ToArray();
                    reader.AdvanceTo(buffer.End);
                    return last;
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }

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
    private sealed class LineOutput(Stream inner) : Stream
    {
        private readonly SemaphoreSlim _lock = new(1, 1);
        private readonly ArrayBufferWriter<byte> _pending = new();

        public async Task WriteLineAsync(string line, CancellationToken cancellationToken)
        {
            await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await inner.WriteAsync(System.Text.Encoding.UTF8.GetBytes(line + "\n"), cancellationToken).ConfigureAwait(false);
                await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _lock.Release();
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                _pending.Write(buffer.Span);
                var written = _pending.WrittenMemory;
                var end = written.Span.LastIndexOf((byte)'\n');
                if (end < 0)
                {
                    return;
                }

                await inner.WriteAsync(written[..(end + 1)], cancellationToken).ConfigureAwait(false);
                await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
                var rest = written[(end + 1)..].ToArray();
                _pending.Clear();
                _pending.Write(rest);
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
