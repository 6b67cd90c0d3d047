using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Warden.Cli.Tests;

/// <summary>
/// A process left running while a test talks to it (a gateway), its output collected as it comes.
/// Disposing it stops it and everything it started, by process id.
/// </summary>
internal sealed class BackgroundProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private BackgroundProcess(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true;
        start.UseShellExecute = false;
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The built warden program with these arguments, as a user runs it.</summary>
    public static BackgroundProcess Warden(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "warden.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return new BackgroundProcess(start);
    }

    /// <summary>Waits until the output says <paramref name="text"/>; fails, with the output, if the process ends first or time runs out.</summary>
    public void WaitFor(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                Assert.Fail($"the process ended (exit code {_process.ExitCode}) before it said \"{text}\":\n{Output}");
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"the process did not say \"{text}\" within {timeout.TotalSeconds:0} s:\n{Output}");
            }

            Thread.Sleep(100);
        }
    }

    /// <summary>A port nobody listens on now, on 127.0.0.1.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Stops the process with this id and every process it started.</summary>
    public static void Stop(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // it has ended already
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
