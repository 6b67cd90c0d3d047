namespace Warden.Workspace.Tests.Seeding;

/// <summary>
/// The filter subset seeded rules may use, parsed independently of the generator: ==, !=, &lt;, &lt;=,
/// &gt;, &gt;=, &amp;&amp;, ||, !, parentheses, <c>field in ['a', 'b']</c> and
/// <c>.startsWith / .endsWith / .contains('…')</c> on a field. Returns every field with the kind of
/// literal it was compared with ("text" or "integer"), so a test can check fields and types.
/// </summary>
internal static class FilterSyntax
{
    public static IReadOnlyList<(string Field, string Type)> Parse(string filter)
    {
        var parser = new Parser(Tokenize(filter));
        parser.Expression();
        parser.Expect("<end>");
        return parser.Uses;
    }

    private static List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        for (var i = 0; i < text.Length;)
        {
            var ch = text[i];
            if (ch == ' ')
            {
                i++;
            }
            else if (ch == '\'')
            {
                var end = text.IndexOf('\'', i + 1);
                if (end < 0)
                {
                    throw new FormatException($"unterminated string at {i} in: {text}");
                }

                tokens.Add(text[i..(end + 1)]);
                i = end + 1;
            }
            else if (char.IsAsciiLetter(ch) || ch == '_')
            {
                var start = i;
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }

                tokens.Add(text[start..i]);
            }
            else if (char.IsAsciiDigit(ch) || (ch == '-' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1])))
            {
                var start = i++;
                while (i < text.Length && char.IsAsciiDigit(text[i]))
                {
                    i++;
                }

                tokens.Add(text[start..i]);
            }
            else
            {
                var two = i + 1 < text.Length ? text.Substring(i, 2) : "";
                if (two is "==" or "!=" or "<=" or ">=" or "&&" or "||")
                {
                    tokens.Add(two);
                    i += 2;
                }
                else if (ch is '<' or '>' or '!' or '(' or ')' or '[' or ']' or ',' or '.')
                {
                    tokens.Add(ch.ToString());
                    i++;
                }
                else
                {
                    throw new FormatException($"unexpected '{ch}' at {i} in: {text}");
                }
            }
        }

        tokens.Add("<end>");
        return tokens;
    }

    private sealed class Parser(List<string> tokens)
    {
        private int position;

        public List<(string Field, string Type)> Uses { get; } = [];

        private string Next => tokens[position];

        public void Expression()
        {
            And();
            while (Next == "||")
            {
                position++;
                And();
            }
        }

        public void Expect(string token)
        {
            if (Next != token)
            {
                throw new FormatException($"expected {token}, found {Next} (token {position})");
            }

            position++;
        }

        private void And()
        {
            Unary();
            while (Next == "&&")
            {
                position++;
                Unary();
            }
        }

        private void Unary()
        {
            if (Next == "!")
            {
                position++;
                Unary();
            }
            else if (Next == "(")
            {
                position++;
                Expression();
                Expect(")");
            }
            else
            {
                Comparison();
            }
        }

        private void Comparison()
        {
            var field = Next;
            if (!char.IsAsciiLetter(field[0]) || field is "in" or "true" or "false" or "null")
            {
                throw new FormatException($"expected a field, found {field}");
            }

            position++;
            if (Next == ".")
            {
                position++;
                if (Next is not ("startsWith" or "endsWith" or "contains"))
                {
                    throw new FormatException($"unknown method {Next}");
                }

                position++;
                Expect("(");
                Uses.Add((field, Literal()));
                Expect(")");
                return;
            }

            if (Next == "in")
            {
                position++;
                Expect("[");
                var type = Literal();
                while (Next == ",")
                {
                    position++;
                    if (Literal() != type)
                    {
                        throw new FormatException("a list mixes types");
                    }
                }

                Expect("]");
                Uses.Add((field, type));
                return;
            }

            if (Next is not ("==" or "!=" or "<" or "<=" or ">" or ">="))
            {
                throw new FormatException($"expected a comparison after {field}, found {Next}");
            }

            position++;
            Uses.Add((field, Literal()));
        }

        private string Literal()
        {
            var token = Next;
            position++;
            if (token.StartsWith('\''))
            {
                return "text";
            }

            if (long.TryParse(token, out _))
            {
                return "integer";
            }

            throw new FormatException($"expected a literal, found {token}");
        }
    }
}
