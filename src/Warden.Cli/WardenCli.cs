using System.CommandLine;
using Spectre.Console;
using Warden.Cli.Commands;

namespace Warden.Cli;

/// <summary>Exit codes: 0 all good, 1 the input has problems (policy errors, failing tests), 2 the command could not run.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Findings = 1;
    public const int Usage = 2;
}

/// <summary>The <c>warden</c> command line. Output goes to the given console, so tests read exactly what a user sees.</summary>
internal static class WardenCli
{
    public static int Run(string[] args, IAnsiConsole console, TimeProvider clock)
    {
        var root = new RootCommand("Warden: a governance gateway between AI agents and marketing systems.");
        var policy = new Command("policy", "Check, test and explain a policy file, and reload it in a running gateway.");
        policy.Add(PolicyCheckCommand.Create(console, clock));
        policy.Add(PolicyTestCommand.Create(console, clock));
        policy.Add(PolicyExplainCommand.Create(console, clock));
        policy.Add(PolicyToolsCommand.Create(console, clock));
        policy.Add(GatewayCommands.Reload(console));
        root.Add(policy);
        root.Add(InitCommand.Create(console, clock));
        var workspace = new Command("workspace", "Manage the marketing workspace.");
        workspace.Add(WorkspaceSeedCommand.Create(console, clock));
        root.Add(workspace);
        var database = new Command("database", "Prepare a PostgreSQL database the policy declares.");
        database.Add(DatabaseInstallCommand.Create(console, clock));
        root.Add(database);
        root.Add(DbCommand.Create(console));
        root.Add(UpstreamsCommand.Create(console, clock));
        root.Add(PeopleCommand.Create(console, clock));
        root.Add(AuditCommand.Create(console, clock));
        root.Add(ServeCommand.Create(console, clock));
        root.Add(ServeCommand.CreateStdio(clock));
        foreach (var command in GatewayCommands.Create(console))
        {
            root.Add(command);
        }

        var output = new ConsoleWriter(console);
        // Our own handler below, not System.CommandLine's, which would print a stack trace.
        var configuration = new InvocationConfiguration { Output = output, Error = output, EnableDefaultExceptionHandler = false };
        try
        {
            var exit = root.Parse(args).Invoke(configuration);
            output.Flush();
            return exit;
        }
        catch (Exception e)
        {
            // A bug, not bad input; still no stack trace for the user, but enough to report it.
            console.MarkupLine($"[red]error:[/] warden failed unexpectedly: {Markup.Escape(e.Message)} ({Markup.Escape(e.GetType().Name)})");
            return ExitCodes.Usage;
        }
    }

    /// <summary>
    /// Routes System.CommandLine's help and parse errors through the same console, line by line
    /// (it writes newlines as separate characters, which a console renderer would drop).
    /// </summary>
    private sealed class ConsoleWriter(IAnsiConsole console) : TextWriter
    {
        private readonly System.Text.StringBuilder _line = new();

        // TextWriter, not StringWriter: StringWriter's own overloads would keep text from reaching Write(char).
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value)
        {
            if (value == '\n')
            {
                console.WriteLine(_line.ToString().TrimEnd('\r'));
                _line.Clear();
            }
            else
            {
                _line.Append(value);
            }
        }

        public override void Write(string? value)
        {
            foreach (var c in value ?? "")
            {
                Write(c);
            }
        }

        public override void WriteLine(string? value)
        {
            Write(value);
            Write('\n');
        }

        public override void Flush()
        {
            if (_line.Length > 0)
            {
                console.Write(new Text(_line.ToString()));
                _line.Clear();
            }
        }
    }
}
