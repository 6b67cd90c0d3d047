using System.Globalization;
using System.Text;

namespace Warden.Core.Cel;

/// <summary>
/// Recursive-descent parser for Warden's CEL subset, following the CEL grammar's precedence:
/// <c>||</c> &lt; <c>&amp;&amp;</c> &lt; relations (<c>== != &lt; &lt;= &gt; &gt;= in</c>) &lt; unary
/// &lt; member access and calls. Arithmetic and the conditional operator parse, so that they can be
/// refused with a sentence instead of a syntax error. Nesting is bounded: a deep expression is an
/// error, never a stack overflow.
/// </summary>
internal sealed class CelParser
{
    public const int MaxLength = 8 * 1024;
    public const int MaxDepth = 32;

    /// <summary>Bounds member chains (args.a.b.c...), which nest without parentheses, and so the recursion over the tree.</summary>
    public const int MaxTokens = 1000;

    private static readonly HashSet<string> Reserved =
    [
        "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package",
        "namespace", "return", "var", "void", "while",
    ];

    private readonly string _text;
    private readonly List<Token> _tokens;
    private int _position;
    private int _depth;

    private CelParser(string text, List<Token> tokens)
    {
        _text = text;
        _tokens = tokens;
    }

    public static (CelExpr? Expr, CelProblem? Problem) Parse(string text)
    {
        if (text.Length > MaxLength)
        {
            return (null, new CelProblem(0, 0, $"the condition is {text.Length:N0} characters long; the limit is {MaxLength:N0}"));
        }

        try
        {
            var tokens = Tokenize(text);
            if (tokens.Count > MaxTokens)
            {
                return (null, new CelProblem(0, text.Length, $"the condition has {tokens.Count:N0} parts; the limit is {MaxTokens:N0}", "split it into simpler rules"));
            }

            var parser = new CelParser(text, tokens);
            var expr = parser.ParseExpr();

            if (parser.Peek.Kind != TokenKind.End)
            {
                throw parser.Problem(parser.Peek, $"unexpected '{parser.Peek.Text}' after the end of the expression",
                    parser.Peek.Text == "=" ? "to compare, write '=='" : null);
            }

            return (expr, null);
        }
        catch (CelSyntaxException e)
        {
            return (null, e.Problem);
        }
    }

    private Token Peek => _tokens[_position];

    private Token Next() => _tokens[_position++];

    private bool Accept(string symbol)
    {
        if (Peek.Kind == TokenKind.Symbol && Peek.Text == symbol)
        {
            _position++;
            return true;
        }

        return false;
    }

    private Token Expect(string symbol, string context)
    {
        if (Peek.Kind == TokenKind.Symbol && Peek.Text == symbol)
        {
            return Next();
        }

        var found = Peek.Kind == TokenKind.End ? "the end of the condition" : $"'{Peek.Text}'";
        throw Problem(Peek, $"expected '{symbol}' {context}, found {found}");
    }

    private CelSyntaxException Problem(Token at, string message, string? hint = null) =>
        new(new CelProblem(at.Start, Math.Max(at.End, at.Start + 1), message, hint));

    private void Enter(Token at)
    {
        if (++_depth > MaxDepth)
        {
            throw Problem(at, $"the condition nests deeper than {MaxDepth} levels", "split it into simpler rules");
        }
    }

    private CelExpr ParseExpr()
    {
        Enter(Peek);
        var expr = ParseOr();
        if (Peek.Kind == TokenKind.Symbol && Peek.Text == "?")
        {
            throw Problem(Peek, "the conditional operator 'a ? b : c' is not part of Warden's CEL subset",
                "write it with && and || instead, or as two rules");
        }

        _depth--;
        return expr;
    }

    private CelExpr ParseOr() => ParseChain("||", ParseAnd);

    private CelExpr ParseAnd() => ParseChain("&&", ParseRelation);

    /// <summary>
    /// A chain of || (or &amp;&amp;) becomes a balanced tree, as cel-go's parser does: the operators
    /// are associative (errors included), and a balanced tree keeps a long list of alternatives
    /// shallow for the recursive checker, compiler and evaluator.
    /// </summary>
    private CelExpr ParseChain(string op, Func<CelExpr> operand)
    {
        var first = operand();
        if (!(Peek.Kind == TokenKind.Symbol && Peek.Text == op))
        {
            return first;
        }

        var terms = new List<CelExpr> { first };
        while (Peek.Kind == TokenKind.Symbol && Peek.Text == op)
        {
            Next();
            terms.Add(operand());
        }

        return Balance(terms, 0, terms.Count, op);
    }

    private static CelExpr Balance(List<CelExpr> terms, int from, int to, string op)
    {
        if (to - from == 1)
        {
            return terms[from];
        }

        var middle = (from + to) / 2;
        var left = Balance(terms, from, middle, op);
        var right = Balance(terms, middle, to, op);
        return new CelBinary(left.Start, right.End, op, left, right);
    }

    private static readonly HashSet<string> Relations = ["==", "!=", "<", "<=", ">", ">="];
    private static readonly HashSet<string> Arithmetic = ["+", "-", "*", "/", "%"];

    private CelExpr ParseRelation()
    {
        var left = ParseArithmetic();
        while (true)
        {
            var token = Peek;
            string op;
            if (token.Kind == TokenKind.Symbol && Relations.Contains(token.Text))
            {
                op = token.Text;
            }
            else if (token.Kind == TokenKind.Ident && token.Text == "in")
            {
                op = "in";
            }
            else if (token.Kind == TokenKind.Symbol && token.Text == "=")
            {
                throw Problem(token, "'=' is not an operator in CEL", "to compare, write '=='");
            }
            else
            {
                return left;
            }

            Next();
            var right = ParseArithmetic();
            left = new CelBinary(left.Start, right.End, op, left, right);
        }
    }

    private CelExpr ParseArithmetic()
    {
        var left = ParseUnary();
        if (Peek.Kind == TokenKind.Symbol && Arithmetic.Contains(Peek.Text))
        {
            throw Problem(Peek, $"arithmetic ('{Peek.Text}') is not part of Warden's CEL subset",
                "compare facts with literals instead, e.g. records > 500");
        }

        return left;
    }

    private CelExpr ParseUnary()
    {
        var token = Peek;
        if (Accept("!"))
        {
            Enter(token);
            var operand = ParseUnary();
            _depth--;
            return new CelUnary(token.Start, operand.End, "!", operand);
        }

        if (Accept("-"))
        {
            // A negative literal is one token in effect: -9223372036854775808 is a valid int.
            if (Peek.Kind is TokenKind.Int or TokenKind.Double)
            {
                var literal = Next();
                return NumberLiteral(literal, negate: true, start: token.Start);
            }

            Enter(token);
            var operand = ParseUnary();
            _depth--;
            return new CelUnary(token.Start, operand.End, "-", operand);
        }

        return ParseMember();
    }

    private CelExpr ParseMember()
    {
        var expr = ParsePrimary();
        while (true)
        {
            var token = Peek;
            if (Accept("."))
            {
                var name = Next();
                if (name.Kind != TokenKind.Ident)
                {
                    throw Problem(name, "expected a field or function name after '.'");
                }

                if (Accept("("))
                {
                    var args = ParseArguments(name.Text);
                    expr = MemberCall(expr, name, args);
                }
                else
                {
                    expr = new CelSelect(expr.Start, name.End, expr, name.Text, isPresenceTest: false);
                }
            }
            else if (Accept("["))
            {
                Enter(token);
                var key = ParseExpr();
                _depth--;
                var close = Expect("]", "to close the index");
                expr = new CelIndex(expr.Start, close.End, expr, key);
            }
            else
            {
                return expr;
            }
        }
    }

    private List<CelExpr> ParseArguments(string function)
    {
        var args = new List<CelExpr>();
        if (Accept(")"))
        {
            return args;
        }

        do
        {
            args.Add(ParseExpr());
        }
        while (Accept(","));

        Expect(")", $"to close the arguments of {function}()");
        return args;
    }

    private CelExpr MemberCall(CelExpr target, Token name, List<CelExpr> args)
    {
        var end = _tokens[_position - 1].End;
        switch (name.Text)
        {
            case "exists" or "all":
                if (args.Count != 2 || args[0] is not CelIdent variable)
                {
                    throw Problem(name, $"{name.Text}() takes a variable name and a condition, e.g. fields.{name.Text}(f, f.startsWith(\"contacts.\"))");
                }

                return new CelComprehension(target.Start, end, name.Text == "all", target, variable.Name, args[1]);
            case "exists_one" or "map" or "filter" or "transformList" or "transformMap":
                throw Problem(name, $"the macro {name.Text}() is not part of Warden's CEL subset", "use exists() or all()");
            default:
                return new CelCall(target.Start, end, target, name.Text, args);
        }
    }

    private CelExpr ParsePrimary()
    {
        var token = Next();
        switch (token.Kind)
        {
            case TokenKind.Int or TokenKind.Double:
                return NumberLiteral(token, negate: false, start: token.Start);
            case TokenKind.UInt:
                throw Problem(token, "unsigned integers (with a 'u' suffix) are not part of Warden's CEL subset", "drop the 'u'");
            case TokenKind.String:
                return new CelLiteral(token.Start, token.End, CelValue.Of(token.Value!));
            case TokenKind.Ident:
                return Identifier(token);
            case TokenKind.End:
                throw Problem(token, _tokens.Count == 1 ? "the condition is empty" : "the condition ends too early");
        }

        switch (token.Text)
        {
            case "(":
                Enter(token);
                var inner = ParseExpr();
                _depth--;
                Expect(")", "to close the parenthesis");
                return inner;
            case "[":
                Enter(token);
                var items = new List<CelExpr>();
                if (!Accept("]"))
                {
                    do
                    {
                        if (Peek.Kind == TokenKind.Symbol && Peek.Text == "]")
                        {
                            break; // CEL allows a trailing comma
                        }

                        items.Add(ParseExpr());
                    }
                    while (Accept(","));

                    Expect("]", "to close the list");
                }

                _depth--;
                return new CelList(token.Start, _tokens[_position - 1].End, items);
            case "{":
                throw Problem(token, "map literals are not part of Warden's CEL subset");
            case "=":
                throw Problem(token, "'=' is not an operator in CEL", "to compare, write '=='");
            default:
                throw Problem(token, $"unexpected '{token.Text}'");
        }
    }

    private CelExpr Identifier(Token token)
    {
        switch (token.Text)
        {
            case "true":
                return new CelLiteral(token.Start, token.End, CelValue.True);
            case "false":
                return new CelLiteral(token.Start, token.End, CelValue.False);
            case "null":
                return new CelLiteral(token.Start, token.End, CelValue.Null);
            case "in":
                throw Problem(token, "'in' needs a value on its left, e.g. 'pii' in classes");
        }

        if (Reserved.Contains(token.Text))
        {
            throw Problem(token, $"'{token.Text}' is a reserved word in CEL");
        }

        if (Accept("("))
        {
            var args = ParseArguments(token.Text);
            var end = _tokens[_position - 1].End;
            if (token.Text == "has")
            {
                if (args.Count != 1 || args[0] is not CelSelect select)
                {
                    throw Problem(token, "has() takes one field selection, e.g. has(args.limit)");
                }

                return new CelSelect(token.Start, end, select.Operand, select.Field, isPresenceTest: true);
            }

            return new CelCall(token.Start, end, null, token.Text, args);
        }

        return new CelIdent(token.Start, token.End, token.Text);
    }

    private CelExpr NumberLiteral(Token token, bool negate, int start)
    {
        var text = negate ? "-" + token.Text : token.Text;
        if (token.Kind == TokenKind.Double)
        {
            var d = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            if (!double.IsFinite(d))
            {
                throw Problem(token, $"{text} is too large for a double");
            }

            return new CelLiteral(start, token.End, CelValue.Of(d));
        }

        long value;
        bool ok;
        if (token.Text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            ok = ulong.TryParse(token.Text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var magnitude)
                 && (negate ? magnitude <= 9223372036854775808UL : magnitude <= long.MaxValue);
            value = ok ? (negate ? (long)(0 - magnitude) : (long)magnitude) : 0;
        }
        else
        {
            ok = long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
        }

        if (!ok)
        {
            throw Problem(token, $"{text} does not fit in a 64-bit integer");
        }

        return new CelLiteral(start, token.End, CelValue.Of(value));
    }

    // ---- lexer ----

    private enum TokenKind { Ident, Int, UInt, Double, String, Symbol, End }

    private readonly record struct Token(TokenKind Kind, string Text, int Start, int End, string? Value = null);

    private static readonly string[] Symbols =
        ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", "{", "}", ".", ",", "?", ":", "+", "-", "*", "/", "%", "="];

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            // CEL's whitespace is ASCII only; anything else is an unexpected character.
            while (i < text.Length && text[i] is ' ' or '\t' or '\n' or '\r' or '\f' or '\v')
            {
                i++;
            }

            if (i + 1 < text.Length && text[i] == '/' && text[i + 1] == '/')
            {
                // CEL line comment.
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }

                continue;
            }

            if (i >= text.Length)
            {
                tokens.Add(new Token(TokenKind.End, "", text.Length, text.Length));
                return tokens;
            }

            var c = text[i];
            var start = i;
            if (char.IsAsciiLetter(c) || c == '_')
            {
                // String prefixes: r"raw", b"bytes".
                if ((c is 'r' or 'R' or 'b' or 'B') && i + 1 < text.Length && text[i + 1] is '"' or '\'')
                {
                    if (c is 'b' or 'B')
                    {
                        throw new CelSyntaxException(new CelProblem(start, start + 1, "byte strings are not part of Warden's CEL subset"));
                    }

                    var (value, end) = LexString(text, i + 1, raw: true);
                    tokens.Add(new Token(TokenKind.String, text[start..end], start, end, value));
                    i = end;
                    continue;
                }

                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Ident, text[start..i], start, i));
                continue;
            }

            if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1])))
            {
                tokens.Add(LexNumber(text, ref i));
                continue;
            }

            if (c is '"' or '\'')
            {
                var (value, end) = LexString(text, i, raw: false);
                tokens.Add(new Token(TokenKind.String, text[start..end], start, end, value));
                i = end;
                continue;
            }

            var symbol = Array.Find(Symbols, s => string.CompareOrdinal(text, i, s, 0, s.Length) == 0);
            if (symbol is null)
            {
                throw new CelSyntaxException(new CelProblem(start, start + 1, $"unexpected character '{c}'",
                    c == '&' ? "write '&&'" : c == '|' ? "write '||'" : null));
            }

            tokens.Add(new Token(TokenKind.Symbol, symbol, start, start + symbol.Length));
            i += symbol.Length;
        }
    }

    private static Token LexNumber(string text, ref int i)
    {
        var start = i;
        if (text[i] == '0' && i + 1 < text.Length && text[i + 1] is 'x' or 'X')
        {
            i += 2;
            while (i < text.Length && char.IsAsciiHexDigit(text[i]))
            {
                i++;
            }

            return Suffix(text, start, ref i, TokenKind.Int);
        }

        var kind = TokenKind.Int;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
        }

        if (i + 1 < text.Length && text[i] == '.' && char.IsAsciiDigit(text[i + 1]))
        {
            kind = TokenKind.Double;
            i++;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }
        }

        if (i < text.Length && text[i] is 'e' or 'E')
        {
            var j = i + 1;
            if (j < text.Length && text[j] is '+' or '-')
            {
                j++;
            }

            if (j < text.Length && char.IsAsciiDigit(text[j]))
            {
                kind = TokenKind.Double;
                i = j;
                while (i < text.Length && char.IsAsciiDigit(text[i]))
                {
                    i++;
                }
            }
        }

        return Suffix(text, start, ref i, kind);
    }

    private static Token Suffix(string text, int start, ref int i, TokenKind kind)
    {
        if (kind == TokenKind.Int && i < text.Length && text[i] is 'u' or 'U')
        {
            i++;
            return new Token(TokenKind.UInt, text[start..i], start, i);
        }

        return new Token(kind, text[start..i], start, i);
    }

    private static (string Value, int End) LexString(string text, int i, bool raw)
    {
        var start = i;
        var quote = text[i];
        var triple = i + 2 < text.Length && text[i + 1] == quote && text[i + 2] == quote;
        i += triple ? 3 : 1;
        var value = new StringBuilder();
        while (true)
        {
            if (i >= text.Length || (!triple && text[i] is '\n' or '\r'))
            {
                throw new CelSyntaxException(new CelProblem(start, i, "this string is not closed", $"end it with {quote}"));
            }

            var c = text[i];
            if (c == quote && (!triple || (i + 2 < text.Length && text[i + 1] == quote && text[i + 2] == quote)))
            {
                return (value.ToString(), i + (triple ? 3 : 1));
            }

            if (c == '\\' && !raw)
            {
                i = Escape(text, i, value);
                continue;
            }

            value.Append(c);
            i++;
        }
    }

    private static int Escape(string text, int i, StringBuilder value)
    {
        var start = i;
        if (i + 1 >= text.Length)
        {
            throw new CelSyntaxException(new CelProblem(start, start + 1, "a backslash ends the string"));
        }

        var e = text[i + 1];
        switch (e)
        {
            case '\\' or '"' or '\'' or '`' or '?':
                value.Append(e);
                return i + 2;
            case 'a': value.Append('\a'); return i + 2;
            case 'b': value.Append('\b'); return i + 2;
            case 'f': value.Append('\f'); return i + 2;
            case 'n': value.Append('\n'); return i + 2;
            case 'r': value.Append('\r'); return i + 2;
            case 't': value.Append('\t'); return i + 2;
            case 'v': value.Append('\v'); return i + 2;
            case 'x' or 'X':
                return CodePoint(text, i, 2, 2, 16, value);
            case 'u':
                return CodePoint(text, i, 2, 4, 16, value);
            case 'U':
                return CodePoint(text, i, 2, 8, 16, value);
            case >= '0' and <= '3':
                return CodePoint(text, i, 1, 3, 8, value);
            default:
                throw new CelSyntaxException(new CelProblem(start, start + 2, $"'\\{e}' is not an escape CEL knows"));
        }
    }

    private static int CodePoint(string text, int i, int skip, int digits, int radix, StringBuilder value)
    {
        var from = i + skip;
        if (from + digits > text.Length)
        {
            throw new CelSyntaxException(new CelProblem(i, text.Length, "this escape is cut short"));
        }

        var span = text.AsSpan(from, digits);
        // Parsed as long: eight hex digits can exceed int.MaxValue (\UFFFFFFFF would read as -1).
        var ok = radix == 16
            ? long.TryParse(span, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code)
            : TryOctal(span, out code);
        if (!ok || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
        {
            throw new CelSyntaxException(new CelProblem(i, from + digits, "this escape is not a valid code point"));
        }

        value.Append(char.ConvertFromUtf32((int)code));
        return from + digits;
    }

    private static bool TryOctal(ReadOnlySpan<char> digits, out long code)
    {
        code = 0;
        foreach (var d in digits)
        {
            if (d is < '0' or > '7')
            {
                return false;
            }

            code = (code * 8) + (d - '0');
        }

        return true;
    }

    private sealed class CelSyntaxException(CelProblem problem) : Exception(problem.Message)
    {
        public CelProblem Problem { get; } = problem;
    }
}
