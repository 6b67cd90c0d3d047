using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Warden.Gateway.Notifications;

namespace Warden.Gateway.Tests;

/// <summary>Notifications go out through a durable outbox to a webhook, are retried when it fails, and stay visible until delivered.</summary>
public sealed class NotificationTests
{
    /// <summary>A webhook on a free port of 127.0.0.1 that keeps what it receives, or fails while told to.</summary>
    private sealed class Webhook : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private Webhook(WebApplication app, string url)
        {
            _app = app;
            Url = url;
        }

        public string Url { get; }

        public ConcurrentQueue<JsonNode> Received { get; } = new();

        public volatile bool Failing;

        public static async Task<Webhook> StartAsync()
        {
            var url = $"http://127.0.0.1:{GatewayFixture.FreePort()}";
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls(url);
            var app = builder.Build();
            var webhook = new Webhook(app, url + "/hook");
            app.MapPost("/hook", async (HttpContext context) =>
            {
                if (webhook.Failing)
                {
                    context.Response.StatusCode = 503;
                    return;
                }

                webhook.Received.Enqueue((await JsonNode.ParseAsync(context.Request.Body))!);
                context.Response.StatusCode = 200;
            });
            await app.StartAsync(TestContext.Current.CancellationToken);
            return webhook;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.True(condition(), "not within 15 s");
    }

    [Fact]
    public async Task A_held_call_is_posted_to_the_webhook_for_its_approvers_and_owners()
    {
        await using var webhook = await Webhook.StartAsync();
        await using var gateway = await GatewayFixture.StartAsync(webhook: webhook.Url);
        var (_, held) = await GatewayFixture.Call(await gateway.Agent("hygiene-bot"), "contacts.update", new { filter = "country == 'DE'", set = new { job_title = "Notified" } });
        await Eventually(() => !webhook.Received.IsEmpty);
        var message = webhook.Received.Single();
        Assert.StartsWith("hygiene-bot asks to run contacts.update: contacts.update: set job_title to 'Notified' on", message["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(held["approval_id"]!.GetValue<string>(), message["warden"]!["approval_id"]!.GetValue<string>());
        var page = $"{gateway.Url}/console/approvals/{held["approval_id"]!.GetValue<string>()}";
        Assert.Contains($"Decide at {page}", message["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(page, message["warden"]!["url"]!.GetValue<string>());
        var recipients = message["warden"]!["recipients"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()).ToList();
        Assert.Equal("sam", recipients[0]); // the approver first, then the use case's owners
        Assert.Contains("maria", recipients);
        Assert.Equal("sam.okafor@northwind.example", message["warden"]!["recipients"]![0]!["email"]!.GetValue<string>());
        var (_, list) = await gateway.Api(HttpMethod.Get, "/api/notifications", gateway.Token("sam"));
        Assert.NotNull(list!["notifications"]![0]!["delivered_at"]);
    }

    [Fact]
    public async Task An_approver_alone_reads_only_the_notifications_sent_to_them()
    {
        await using var webhook = await Webhook.StartAsync();
        webhook.Failing = true; // kept in the outbox, as an undelivered message is
        await using var gateway = await GatewayFixture.StartAsync(webhook: webhook.Url);
        // Put to the data owner, and told to the use case's owners: not to lee, who approves campaigns.
        await GatewayFixture.Call(await gateway.Agent("hygiene-bot"), "contacts.update", new { filter = "country == 'DE'", set = new { job_title = "Not for lee" } });

        var (_, lee) = await gateway.Api(HttpMethod.Get, "/api/notifications", gateway.Token("lee"));
        var (_, sam) = await gateway.Api(HttpMethod.Get, "/api/notifications", gateway.Token("sam"));

        Assert.DoesNotContain("Not for lee", lee!.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("Not for lee", sam!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_webhook_that_fails_is_retried_and_the_failure_is_visible_until_it_delivers()
    {
        await using var webhook = await Webhook.StartAsync();
        webhook.Failing = true;
        await using var gateway = await GatewayFixture.StartAsync(webhook: webhook.Url);
        await gateway.Api(HttpMethod.Post, "/api/freeze", gateway.Token("lee"), new { agent = "nurture-bot", reason = "drill" }); // opens an incident
        await Eventually(() => gateway.Gateway.Store.Outbox.Messages(undeliveredOnly: true).Any(m => m.Attempts > 0));
        var (_, health) = await gateway.Api(HttpMethod.Get, "/api/health", null);
        Assert.Equal(1, health!["notifications_failing"]!.GetValue<int>());
        var (_, failing) = await gateway.Api(HttpMethod.Get, "/api/notifications?undelivered=true", gateway.Token("maria"));
        Assert.Equal("the webhook answered 503 Service Unavailable", failing!["notifications"]![0]!["last_error"]!.GetValue<string>());

        webhook.Failing = false;
        gateway.Clock.Advance(Notifier.Backoff(1) + TimeSpan.FromSeconds(1)); // the retry is due
        await Eventually(() => !webhook.Received.IsEmpty);
        Assert.StartsWith("Incident inc-", webhook.Received.Single()["text"]!.GetValue<string>(), StringComparison.Ordinal);
        await Eventually(() => gateway.Gateway.Store.Outbox.Messages(undeliveredOnly: true).Count == 0);
    }

    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 30)]
    [InlineData(3, 90)]
    [InlineData(10, 3600)]
    public void Retries_wait_longer_each_time_and_at_most_an_hour(int attempts, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), Notifier.Backoff(attempts));
}
