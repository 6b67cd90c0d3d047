using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;

namespace Warden.Core.Audit;

/// <summary>
/// The Ed25519 key the gateway signs checkpoints with. Its public half is exported to witnesses,
/// so that someone who can rewrite the store but does not hold this key cannot forge a checkpoint.
/// </summary>
public sealed class AuditKey
{
    private readonly Ed25519PrivateKeyParameters _private;

    private AuditKey(Ed25519PrivateKeyParameters key)
    {
        _private = key;
        PublicKey = key.GeneratePublicKey().GetEncoded();
    }

    public byte[] PublicKey { get; }

    /// <summary>The public key as base64, as witnesses and proofs carry it.</summary>
    public string PublicKeyText => Convert.ToBase64String(PublicKey);

    /// <summary>A short name for the public key: "ed25519:" and the first 16 hex digits of its SHA-256.</summary>
    public string KeyId => IdOf(PublicKey);

    public static AuditKey Generate() => new(new Ed25519PrivateKeyParameters(new SecureRandom()));

    public static AuditKey FromPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != Ed25519PrivateKeyParameters.KeySize)
        {
            throw new ArgumentException($"an Ed25519 private key is {Ed25519PrivateKeyParameters.KeySize} bytes, not {privateKey.Length}", nameof(privateKey));
        }

        return new AuditKey(new Ed25519PrivateKeyParameters(privateKey.ToArray()));
    }

    public byte[] PrivateKey() => _private.GetEncoded();

    public static string IdOf(byte[] publicKey) => "ed25519:" + Convert.ToHexStringLower(SHA256.HashData(publicKey))[..16];

    /// <summary>The id of a public key given as base64, or "(not a key)" when it is not base64: for messages and comparisons, never throws.</summary>
    public static string IdOf(string publicKey)
    {
        try
        {
            return IdOf(Convert.FromBase64String(publicKey));
        }
        catch (FormatException)
        {
            return "(not a key)";
        }
    }

    /// <summary>The signature of the text's UTF-8 bytes, as base64.</summary>
    public string Sign(string text)
    {
        var signer = new Ed25519Signer();
        signer.Init(true, _private);
        var bytes = Encoding.UTF8.GetBytes(text);
        signer.BlockUpdate(bytes, 0, bytes.Length);
        return Convert.ToBase64String(signer.GenerateSignature());
    }

    /// <summary>Whether the signature (base64) is the key's (base64) over the text; false for anything malformed.</summary>
    public static bool Verify(string publicKey, string text, string signature)
    {
        try
        {
            var key = Convert.FromBase64String(publicKey);
            var signed = Convert.FromBase64String(signature);
            if (key.Length != Ed25519PublicKeyParameters.KeySize || signed.Length != Ed25519PrivateKeyParameters.SignatureSize)
            {
                return false;
            }

            var verifier = new Ed25519Signer();
            verifier.Init(false, new Ed25519PublicKeyParameters(key, 0));
            var bytes = Encoding.UTF8.GetBytes(text);
            verifier.BlockUpdate(bytes, 0, bytes.Length);
            return verifier.VerifySignature(signed);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
