namespace Warden.Gateway;

/// <summary>The gateway cannot start or go on: a policy that does not load, a store that cannot be opened. The message says which, in a sentence.</summary>
public sealed class GatewayException(string message, Exception? inner = null) : Exception(message, inner);
