using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Warden.Gateway.Identity;
using Warden.WebConsole;
using Warden.WebConsole.Pages;

namespace Warden.Gateway.WebConsole;

/// <summary>
/// Signing in to the console with the company's identity provider (OpenID Connect, issue 15): the
/// authorization code flow with PKCE, run by ASP.NET Core's handler, which checks the provider's
/// answer (the state against this browser's correlation cookie, the code at the token endpoint, the
/// id_token's signature, issuer, audience, lifetime and nonce). What it vouches for is then mapped
/// here to the one person of the policy whose email it is, and that person gets the console's own
/// session (<see cref="ConsolePages.StartSession"/>): the handler keeps no cookie of its own beyond
/// the round trip, so signing out, the idle limit, a lock-out and leaving the policy work as for a password.
/// </summary>
internal static class IdentityProviderSignIn
{
    public const string Scheme = "oidc";
    public const string StartPath = "/console/sign-in/provider";
    public const string CallbackPath = "/console/sign-in/provider/callback";

    /// <summary>Registers the handler when the gateway has an identity provider; nothing otherwise.</summary>
    public static void AddServices(IServiceCollection services, Gateway gateway)
    {
        if (gateway.Options.IdentityProvider is not { } provider)
        {
            return;
        }

        var log = gateway.Options.Logging.CreateLogger("Warden.WebConsole");
        var references = new TokenReferences(Path.Combine(Path.GetFullPath(gateway.Options.DataDirectory), "secrets"));
        services.AddSingleton(new IdentityProviderButton(provider.ButtonName));
        // The console's session is the default scheme, so that the handler below is not made the default (the only scheme
        // would be) and asked, at every request, to authenticate with itself.
        services.AddAuthentication(options =>
            {
                options.AddScheme<ConsoleSessionScheme>(ConsoleSessionScheme.Name, null);
                options.DefaultScheme = ConsoleSessionScheme.Name;
            })
            .AddOpenIdConnect(Scheme, options =>
        {
            options.Authority = provider.Authority;
            options.ClientId = provider.ClientId;
            options.ClientSecret = references.Resolve(provider.ClientSecret);
            // Checked when the options were validated: https, or http on a loopback address for tests.
            options.RequireHttpsMetadata = provider.Authority.StartsWith("https:", StringComparison.OrdinalIgnoreCase);
            options.ResponseType = OpenIdConnectResponseType.Code;
            // Back by a plain redirect (no auto-posting form, which needs a script and would not carry SameSite=Lax cookies).
            options.ResponseMode = OpenIdConnectResponseMode.Query;
            options.UsePkce = true;
            options.Scope.Clear();
            options.Scope.Add("openid");
            options.Scope.Add("email");
            options.Scope.Add("profile");
            options.CallbackPath = CallbackPath;
            // The handler answers at these paths too; kept under the console's, with its headers, instead of /signout-oidc.
            options.SignedOutCallbackPath = StartPath + "/signed-out";
            options.RemoteSignOutPath = StartPath + "/remote-sign-out";
            options.MapInboundClaims = false;
            options.SaveTokens = false;
            options.GetClaimsFromUserInfoEndpoint = false;
            options.DisableTelemetry = true;
            // One way to the provider (its authorize endpoint), so that the secret read at each sign-in is the one used.
            options.PushedAuthorizationBehavior = PushedAuthorizationBehavior.Disable;
            options.BackchannelTimeout = TimeSpan.FromSeconds(15);
            // The state and the nonce cookie are protected with keys that live as long as the process: nothing is written to
            // the disk, and a sign-in that straddles a restart is refused and started again.
            options.DataProtectionProvider = new EphemeralDataProtectionProvider();
            // Lax: the provider sends the browser back from its own site, and a Strict cookie would not come along. Sent only
            // to the callback (the handler sets that path), and Secure as the console's own cookie is.
            var secure = gateway.Options.PublicUrl?.StartsWith("https://", StringComparison.OrdinalIgnoreCase) == true ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
            options.CorrelationCookie.Name = "warden_oidc_correlation.";
            options.CorrelationCookie.SameSite = SameSiteMode.Lax;
            options.CorrelationCookie.SecurePolicy = secure;
            options.NonceCookie.Name = "warden_oidc_nonce.";
            options.NonceCookie.SameSite = SameSiteMode.Lax;
            options.NonceCookie.SecurePolicy = secure;
            options.Events = new OpenIdConnectEvents
            {
                OnRedirectToIdentityProvider = context =>
                {
                    // Behind a proxy the provider sends people back to the address they reach the gateway at.
                    if (gateway.Options.PublicUrl is { } url)
                    {
                        context.ProtocolMessage.RedirectUri = url.TrimEnd('/') + CallbackPath;
                    }

                    return Task.CompletedTask;
                },
                OnAuthorizationCodeReceived = context =>
                {
                    // Read again, as token files are: a rotated secret is used without a restart.
                    context.TokenEndpointRequest!.ClientSecret = references.Resolve(provider.ClientSecret);
                    return Task.CompletedTask;
                },
                OnTicketReceived = async context =>
                {
                    context.HandleResponse();
                    await AdmitAsync(gateway, provider, log, context.HttpContext, context.Principal!).ConfigureAwait(false);
                },
                OnRemoteSignOut = async context =>
                {
                    // The handler would sign out of the default scheme, the console's, which keeps no ticket: a server error to
                    // anyone who opens this path. The console's session ends only by its own button, the idle limit or the policy.
                    context.HandleResponse();
                    context.Response.StatusCode = StatusCodes.Status400BadRequest;
                    context.Response.ContentType = "text/plain; charset=utf-8";
                    await context.Response.WriteAsync("Warden does not take sign-outs from the identity provider: sign out of the console with its own button.")
                        .ConfigureAwait(false);
                },
                OnRemoteFailure = async context =>
                {
                    context.HandleResponse();
                    log.LogWarning("A sign-in through the identity provider was refused: {Failure}", context.Failure?.Message);
                    await RefuseAsync(context.HttpContext, context.Failure?.Message.Contains("Correlation failed", StringComparison.Ordinal) == true
                        ? "This sign-in was not started in this browser, took longer than 15 minutes, was already used, or the gateway restarted meanwhile: nobody was signed in. Start again."
                        : "The identity provider's answer did not check out (its signature, issuer, audience, nonce or lifetime, or the code), or it said no: nobody was signed in.")
                        .ConfigureAwait(false);
                },
            };
        });
    }

    /// <summary>The sign-in button's post, which sends the browser to the provider; and the handler that takes its answer.</summary>
    public static void Map(WebApplication app, Gateway gateway)
    {
        if (gateway.Options.IdentityProvider is not { } provider)
        {
            return;
        }

        var log = gateway.Options.Logging.CreateLogger("Warden.WebConsole");
        // A browser holds a form's post to the redirects that follow it (form-action), so the pages with the button may send it
        // on to the provider; every other page keeps form-action 'self'.
        var origin = new Uri(provider.Authority).GetLeftPart(UriPartial.Authority);
        app.Use((context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/console/sign-in"))
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = headers.ContentSecurityPolicy.ToString().Replace("form-action 'self'", $"form-action 'self' {origin}", StringComparison.Ordinal);
            }

            return next(context);
        });
        // Here, after the console's headers are set: the handler answers its callback itself, with those headers.
        app.UseAuthentication();
        app.MapPost(StartPath, async (HttpContext context) =>
        {
            if (ConsolePages.FromAnotherSite(context.Request))
            {
                return Results.Text("Refused: this sign-in was posted from another site; sign in from the console's own page.", "text/plain", statusCode: 403);
            }

            try
            {
                await context.ChallengeAsync(Scheme, new AuthenticationProperties()).ConfigureAwait(false);
                return Results.Empty;
            }
            catch (InvalidOperationException e)
            {
                // Its discovery document could not be read: the provider is down or the address is wrong.
                log.LogWarning(e, "The identity provider {Authority} cannot be reached", provider.Authority);
                return Refusal($"The identity provider ({provider.ButtonName}) cannot be reached just now: try again, or sign in with a password.", StatusCodes.Status502BadGateway);
            }
        });
    }

    /// <summary>Signs in the one person of the policy the provider's verified email names, with the console's own session; a page saying why not otherwise.</summary>
    private static async Task AdmitAsync(Gateway gateway, IdentityProviderOptions provider, ILogger log, HttpContext context, ClaimsPrincipal principal)
    {
        var email = principal.FindFirst("email")?.Value?.Trim();
        if (string.IsNullOrEmpty(email))
        {
            await RefuseAsync(context, "The identity provider did not say your email address (the email scope), so Warden cannot tell who you are: nobody was signed in.").ConfigureAwait(false);
            return;
        }

        // Without it, the provider vouches for an address someone typed, not one they own.
        if (!bool.TryParse(principal.FindFirst("email_verified")?.Value, out var verified) || !verified)
        {
            log.LogWarning("A sign-in through the identity provider was refused: {Email} is not verified there", email);
            await RefuseAsync(context, $"The identity provider does not say that {email} is verified: nobody was signed in. Verify it there, or sign in with a password.").ConfigureAwait(false);
            return;
        }

        var people = gateway.Policy.Owners.Where(o => string.Equals(o.Email.Trim(), email, StringComparison.OrdinalIgnoreCase)).ToList();
        if (people.Count != 1)
        {
            log.LogWarning("A sign-in through the identity provider was refused: {Email} is the email of {Count} people of the policy", email, people.Count);
            await RefuseAsync(context, people.Count == 0
                ? $"{email} is not the email of anyone in the policy: nobody was signed in. Ask a policy owner to add you under owners:."
                : $"{email} is the email of {people.Count} people in the policy ({string.Join(", ", people.Select(p => p.Id))}), so it cannot tell which you are: nobody was signed in.").ConfigureAwait(false);
            return;
        }

        var person = people[0].Id;
        var now = gateway.Options.Clock.GetUtcNow();
        var password = gateway.Store.People.Password(person);
        if (password?.LockedUntil is { } until && until > now)
        {
            // A lock-out stops every way in, not only the password it was counted against.
            log.LogWarning("A sign-in through the identity provider was refused: {Person} is locked until {Until}", person, until);
            await RefuseAsync(context, $"This account is locked after {ConsolePages.LockAfter} wrong passwords in a row, until {Format.Time(until)}: nobody was signed in. "
                                       + "An administrator can set a new password (warden people set-password) to unlock it.").ConfigureAwait(false);
            return;
        }

        // The session's cookie is set here; its redirect to the queue is not followed, but a page of this site goes on to it:
        // the browser comes from the provider's site, and would not send a SameSite=Strict cookie on a redirect of that navigation.
        var started = ConsolePages.StartSession(gateway, context, person, password?.Hash, now) is not null
            ? ConsolePages.Page<SignedInPage>(new SignedInView(gateway.Approvals.Who(person), provider.ButtonName))
            : Refusal("A password was set for you meanwhile: start again.", StatusCodes.Status409Conflict);
        await started.ExecuteAsync(context).ConfigureAwait(false);
    }

    private static Task RefuseAsync(HttpContext context, string why) => Refusal(why, StatusCodes.Status403Forbidden).ExecuteAsync(context);

    private static IResult Refusal(string why, int status)
    {
        var page = ConsolePages.Page<SignInPage>(new SignInView(null, why));
        page.StatusCode = status;
        return page;
    }
}

/// <summary>
/// The console's own session as ASP.NET Core sees it: nobody. Sessions are read by
/// <see cref="ConsolePages.SignedIn"/>, page by page; this scheme exists only so that the OpenID
/// Connect handler is neither the default scheme nor where its ticket would be kept (every ticket
/// is handled, and turned into a console session, before that).
/// </summary>
internal sealed class ConsoleSessionScheme : IAuthenticationHandler
{
    public const string Name = "warden-console";

    private HttpContext _context = null!;

    public Task InitializeAsync(AuthenticationScheme scheme, HttpContext context)
    {
        _context = context;
        return Task.CompletedTask;
    }

    public Task<AuthenticateResult> AuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());

    public Task ChallengeAsync(AuthenticationProperties? properties)
    {
        _context.Response.Redirect("/console/sign-in");
        return Task.CompletedTask;
    }

    public Task ForbidAsync(AuthenticationProperties? properties)
    {
        _context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return Task.CompletedTask;
    }
}
