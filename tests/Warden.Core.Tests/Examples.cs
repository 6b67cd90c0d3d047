namespace Warden.Core.Tests;

/// <summary>The example policy and its test cases, as CI checks them.</summary>
internal static class Examples
{
    public static string Directory { get; } = Find();

    public static string PolicyPath => Path.Combine(Directory, "policy.yaml");

    public static string CasesPath => Path.Combine(Directory, "policy.tests.yaml");

    public static string PolicyText => File.ReadAllText(PolicyPath);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "examples", "marketing");
            if (System.IO.Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("examples/marketing not found above " + AppContext.BaseDirectory);
    }
}
