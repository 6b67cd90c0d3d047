namespace Warden.WebConsole;

/// <summary>The console's one stylesheet: calm, one column, large targets, visible focus.</summary>
public static class ConsoleStyle
{
    public const string Css = """
        :root { color-scheme: light; --ink: #1d2430; --calm: #5a6472; --line: #d8dde4; --accent: #1f5fbf; --bad: #b3261e; --ok: #1e7b34; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--ink); background: #f6f7f9; }
        header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: .75rem 1rem; background: #fff; border-bottom: 1px solid var(--line); }
        header nav a { margin-right: 1rem; }
        .brand { font-weight: 700; }
        .signout { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
        main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
        h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 0; }
        a { color: var(--accent); }
        :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
        .skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin: 0 0 1rem; }
        .narrow { max-width: 24rem; }
        .queue { list-style: none; padding: 0; }
        .request { font-weight: 600; font-size: 1.1rem; }
        .facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: .5rem 0 0; }
        .facts dt { color: var(--calm); } .facts dd { margin: 0; }
        .calm { color: var(--calm); }
        .headline { font-weight: 600; font-size: 1.1rem; }
        .risk, .status { display: inline-block; padding: 0 .5rem; border-radius: 99px; font-size: .85rem; border: 1px solid currentColor; margin-left: .5rem; }
        .risk-high, .status-denied, .status-expired { color: var(--bad); } .risk-medium { color: #8a5300; } .risk-low, .status-approved { color: var(--ok); }
        .error { color: var(--bad); font-weight: 600; } .notice { background: #eef4ff; border-left: 4px solid var(--accent); padding: .5rem 1rem; }
        .agent-says blockquote { border-left: 4px solid var(--line); margin: 0; padding-left: 1rem; font-style: italic; }
        table { border-collapse: collapse; width: 100%; display: block; overflow-x: auto; }
        th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        label { display: block; font-weight: 600; margin-top: .75rem; }
        input, textarea { width: 100%; font: inherit; padding: .5rem; border: 1px solid #8b95a3; border-radius: 6px; }
        button { font: inherit; padding: .55rem 1.1rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; margin-top: .75rem; }
        button.secondary { background: #fff; color: var(--bad); border-color: var(--bad); }
        .signout button { margin: 0; padding: .3rem .8rem; background: #fff; color: var(--accent); }
        .buttons { display: flex; gap: .75rem; flex-wrap: wrap; }
        .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: 0 1rem; }
        .export { margin-left: 1rem; }
        .verify { margin-bottom: 1rem; }
        .inline { display: inline; } .inline label { display: inline; margin-right: .5rem; } .inline input:not([type=hidden]) { width: auto; }
        button.secondary-neutral { background: #fff; color: var(--accent); }
        .links { padding-left: 1.2rem; }
        pre { overflow-x: auto; background: #f6f7f9; padding: .75rem; border-radius: 6px; font-size: .85rem; }
        .tiles { gap: 1rem; } .tile { display: block; text-decoration: none; color: var(--ink); } .number { font-size: 2rem; font-weight: 700; display: block; }
        .chart { width: 100%; height: auto; } .bar { fill: #9db8e6; } .bar-refused { fill: var(--bad); } .axis { font-size: 12px; fill: var(--calm); }
        """;
}
