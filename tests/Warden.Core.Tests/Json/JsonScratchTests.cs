using System.Text;
using System.Text.Json;

namespace Warden.Core.Tests.Json;

public sealed class JsonScratchTests
{
    private static string Text(string value, bool escapeHtml = false) =>
        JsonScratch.Write(value, static (json, v) => json.WriteStringValue(v), static (bytes, _) => Encoding.UTF8.GetString(bytes), escapeHtml);

    [Fact]
    public void Text_is_escaped_only_as_json_requires_unless_html_escaping_is_asked_for()
    {
        Assert.Equal("\"a<b & \\\"é\\\"\"", Text("a<b & \"é\""));
        Assert.Equal("\"a\\u003Cb \\u0026 \\u0022\\u00E9\\u0022\"", Text("a<b & \"é\"", escapeHtml: true));
        Assert.Equal("\"a<b\"", Text("a<b")); // and the relaxed writer is not left escaping after the other ran
    }

    [Fact]
    public void A_write_inside_another_write_on_the_same_thread_gets_a_buffer_of_its_own()
    {
        var outer = JsonScratch.Write(
            0,
            static (json, _) =>
            {
                json.WriteStartObject();
                json.WriteString("inner", Text("nested"));
                json.WriteString("after", "still here");
                json.WriteEndObject();
            },
            static (bytes, _) => Encoding.UTF8.GetString(bytes));

        Assert.Equal("""{"inner":"\"nested\"","after":"still here"}""", outer);
    }

    [Fact]
    public void A_write_that_throws_leaves_the_next_write_on_the_thread_whole()
    {
        Assert.Throws<InvalidOperationException>(() => JsonScratch.Write(
            0,
            static (json, _) =>
            {
                json.WriteStartObject();
                json.WriteString("half", "written");
                throw new InvalidOperationException("failed half-way");
            },
            static (bytes, _) => bytes.Length));

        Assert.Equal("\"whole\"", Text("whole"));
        using var document = JsonDocument.Parse(JsonScratch.Write(0, static (json, _) => { json.WriteStartArray(); json.WriteEndArray(); }, static (bytes, _) => bytes.ToArray()));
        Assert.Equal(JsonValueKind.Array, document.RootElement.ValueKind);
    }
}
