using Spectre.Console;
using Warden.Cli;

var console = AnsiConsole.Console;
if (Console.IsOutputRedirected)
{
    // Piped output (CI logs, files) should not wrap source lines under their carets.
    console.Profile.Width = 200;
}

return WardenCli.Run(args, console, TimeProvider.System);
