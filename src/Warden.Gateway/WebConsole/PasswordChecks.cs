using Warden.Gateway.Identity;

namespace Warden.Gateway.WebConsole;

/// <summary>
/// The password checks of sign-ins, a few at a time: each is slow on purpose (PBKDF2), anyone may
/// ask for one without signing in, and the agents' calls need the same cores. A sign-in enters
/// before anything is counted; beyond <see cref="MaxWaiting"/> in, it is turned away at once rather
/// than queued.
/// </summary>
internal sealed class PasswordChecks : IDisposable
{
    public const int MaxWaiting = 16;

    // Half the cores: a flood of sign-ins leaves the rest to the gateway's other work.
    private readonly SemaphoreSlim _running = new(Math.Max(1, Environment.ProcessorCount / 2));
    private int _in;

    /// <summary>Takes a place for one sign-in; false when <see cref="MaxWaiting"/> are in already. A place taken is given back with <see cref="Leave"/>.</summary>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _in) <= MaxWaiting)
        {
            return true;
        }

        Interlocked.Decrement(ref _in);
        return false;
    }

    public void Leave() => Interlocked.Decrement(ref _in);

    /// <summary>Whether <paramref name="password"/> is the one hashed, checked when a core is free for it.</summary>
    public async Task<bool> VerifyAsync(string password, string hash, CancellationToken cancellationToken)
    {
        await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return PasswordHash.Verify(password, hash);
        }
        finally
        {
            _running.Release();
        }
    }

    public void Dispose() => _running.Dispose();
}
