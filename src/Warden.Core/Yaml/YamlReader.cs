using Warden.Core.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Warden.Core.Yaml;

/// <summary>Limits on what the reader accepts, so a hostile file is refused instead of exhausting the process.</summary>
internal sealed record YamlLimits(int MaxChars, int MaxDepth, int MaxNodes)
{
    public static readonly YamlLimits Default = new(MaxChars: 4 * 1024 * 1024, MaxDepth: 64, MaxNodes: 2_000_000);
}

/// <summary>
/// Reads one YAML document into a <see cref="YamlNode"/> tree, iteratively (no recursion, so deep
/// nesting cannot overflow the stack). Refuses anchors and aliases, duplicate keys and non-scalar
/// keys: a policy is read by people, and each of those hides what a rule really says.
/// </summary>
internal static class YamlReader
{
    public static YamlNode? Read(string text, string source, DiagnosticBag diagnostics, YamlLimits? limits = null)
    {
        limits ??= YamlLimits.Default;
        if (text.Length > limits.MaxChars)
        {
            diagnostics.Error(DiagnosticCode.Syntax, SourceLocation.File(source),
                $"the file is {text.Length / (1024.0 * 1024.0):0.0} MB; a policy may be at most {limits.MaxChars / (1024 * 1024)} MB",
                "split the file or remove generated content");
            return null;
        }

        var parser = new Parser(new StringReader(text));
        var lastGood = Mark.Empty;
        try
        {
            return Build(parser, source, diagnostics, limits, ref lastGood);
        }
        catch (YamlException e)
        {
            var at = e.Start.Line > 0 ? Location(source, e.Start) : SourceLocation.File(source);
            diagnostics.Error(DiagnosticCode.Syntax, at, "this is not valid YAML: " + CleanMessage(e.Message));
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this on some malformed flow collections (found by the
            // fuzz test); it is still bad input, reported after the last part that did parse.
            var at = lastGood.Line > 0 ? Location(source, lastGood) : SourceLocation.File(source);
            diagnostics.Error(DiagnosticCode.Syntax, at, "this is not valid YAML: it cannot be read past this point",
                "look for an unbalanced '[' or '{' on this line or the next");
            return null;
        }
    }

    private static YamlNode? Build(Parser parser, string source, DiagnosticBag diagnostics, YamlLimits limits, ref Mark lastGood)
    {
        // Containers under construction; a finished node is handed to the one on top.
        var stack = new Stack<Frame>();
        YamlNode? root = null;
        var documents = 0;
        var nodes = 0;

        while (parser.MoveNext())
        {
            var current = parser.Current!;
            lastGood = current.End;
            switch (current)
            {
                case StreamStart or StreamEnd or DocumentEnd:
                    continue;
                case DocumentStart:
                    if (++documents > 1)
                    {
                        diagnostics.Error(DiagnosticCode.Syntax, Location(source, current.Start),
                            "the file holds more than one YAML document; a policy is one document", "remove the '---' separator");
                        return null;
                    }

                    continue;
                case AnchorAlias alias:
                    diagnostics.Error(DiagnosticCode.Syntax, Location(source, alias.Start),
                        $"aliases (*{alias.Value}) are not allowed in a policy", "write the value out, so each rule reads on its own");
                    return null;
            }

            if (current is NodeEvent { Anchor.IsEmpty: false } anchored)
            {
                diagnostics.Error(DiagnosticCode.Syntax, Location(source, anchored.Start),
                    $"anchors (&{anchored.Anchor.Value}) are not allowed in a policy", "write the value out, so each rule reads on its own");
                return null;
            }

            if (++nodes > limits.MaxNodes)
            {
                diagnostics.Error(DiagnosticCode.Syntax, Location(source, current.Start),
                    $"the file has more than {limits.MaxNodes:N0} values; that is not a policy a person can review");
                return null;
            }

            YamlNode? finished = null;
            switch (current)
            {
                case Scalar scalar:
                    finished = new YamlScalar(Location(source, scalar.Start), Location(source, scalar.End), scalar.Value,
                        scalar.Style, scalar.Start.Index, scalar.End.Index);
                    break;
                case SequenceStart:
                case MappingStart:
                    if (stack.Count >= limits.MaxDepth)
                    {
                        diagnostics.Error(DiagnosticCode.Syntax, Location(source, current.Start),
                            $"values nest deeper than {limits.MaxDepth} levels", "flatten the structure");
                        return null;
                    }

                    stack.Push(current is SequenceStart
                        ? Frame.ForSequence(new YamlSequence(Location(source, current.Start), []))
                        : Frame.ForMapping(new YamlMapping(Location(source, current.Start), [])));
                    continue;
                case SequenceEnd:
                case MappingEnd:
                    finished = stack.Pop().Node;
                    break;
            }

            if (finished is null)
            {
                continue;
            }

            if (stack.Count == 0)
            {
                root = finished;
                continue;
            }

            if (!stack.Peek().Add(finished, source, diagnostics))
            {
                return null;
            }
        }

        if (root is null)
        {
            diagnostics.Error(DiagnosticCode.Syntax, SourceLocation.File(source), "the file is empty");
        }

        return root;
    }

    private sealed class Frame
    {
        private YamlSequence? _sequence;
        private YamlMapping? _mapping;
        private YamlScalar? _pendingKey;
        private HashSet<string>? _keys;
        private bool _skipValue;

        public YamlNode Node => (YamlNode?)_sequence ?? _mapping!;

        public static Frame ForSequence(YamlSequence s) => new() { _sequence = s };

        public static Frame ForMapping(YamlMapping m) => new() { _mapping = m, _keys = new HashSet<string>(StringComparer.Ordinal) };

        public bool Add(YamlNode node, string source, DiagnosticBag diagnostics)
        {
            if (_sequence is not null)
            {
                _sequence.Items.Add(node);
                return true;
            }

            if (_pendingKey is null)
            {
                if (node is not YamlScalar key)
                {
                    diagnostics.Error(DiagnosticCode.Syntax, node.Start, "a key must be a plain name, not " + node.Describe);
                    return false;
                }

                if (!_keys!.Add(key.Value))
                {
                    var first = _mapping!.Entries.First(e => e.Key.Value == key.Value).Key.Start;
                    diagnostics.Error(DiagnosticCode.DuplicateName, key.Start,
                        $"the key '{key.Value}' appears twice in this mapping (first at line {first.Line})", "YAML keeps only one of them; remove the other");
                    _skipValue = true;
                }

                _pendingKey = key;
                return true;
            }

            if (!_skipValue)
            {
                _mapping!.Entries.Add(new(_pendingKey, node));
            }

            _pendingKey = null;
            _skipValue = false;
            return true;
        }
    }

    private static SourceLocation Location(string source, Mark mark) => new(source, (int)mark.Line, (int)mark.Column);

    /// <summary>YamlDotNet prefixes its messages with the marks; the location is reported separately.</summary>
    private static string CleanMessage(string message)
    {
        var close = message.IndexOf("): ", StringComparison.Ordinal);
        var text = message.StartsWith('(') && close > 0 ? message[(close + 3)..] : message;
        return text.TrimEnd('.');
    }
}
