using Microsoft.Playwright;
using Warden.Gateway.Tests.EndToEnd;

namespace Warden.Gateway.Tests.WebConsole;

/// <summary>Debian's Chromium for the browser tests (no browser is downloaded), and where their screenshots go.</summary>
internal static class Chromium
{
    /// <summary>The test artefacts: a screenshot of each page the browser tests visit.</summary>
    public static string Screenshots => Path.Combine(WardenProcess.Repository, "artifacts", "console");

    public static async Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        Directory.CreateDirectory(Screenshots);
        return await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"] });
    }

    /// <summary>A screenshot of the whole page, as artifacts/console/NAME.png.</summary>
    public static Task Shot(IPage page, string name) => page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });
}
