namespace Warden.Gateway.Calls;

/// <summary>
/// Named points on the path of a call where a test can have the process killed (SIGKILL, as kill -9
/// does) by starting it with WARDEN_TEST_CRASH_AT=name: how the tests prove that a crash at the
/// worst moment loses nothing the trail should hold. Without the variable, nothing happens.
/// (A send cut off between its batches is tested in-process: the control's Stop throws.)
/// </summary>
internal static class CrashPoint
{
    private static readonly string? Armed = System.Environment.GetEnvironmentVariable("WARDEN_TEST_CRASH_AT");

    /// <summary>After the workspace committed a change and before the trail recorded it.</summary>
    public const string AfterApply = "after-apply";

    public static void Reached(string name)
    {
        if (Armed == name)
        {
            System.Diagnostics.Process.GetCurrentProcess().Kill();
        }
    }
}
