import Crypto
import Foundation
import OutpostCore

/// ECDSA P-256 package signing in the form `cosign sign-blob --key` writes: the signature file holds
/// the base64 (no newline) of the ASN.1 DER ECDSA signature over SHA-256 of zarf.yaml. Keys are PEM:
/// PKCS#8 "PRIVATE KEY" (SEC1 "EC PRIVATE KEY" is also read) and SPKI "PUBLIC KEY".
public enum PackageSigning {
    /// A fresh key pair as PEM text (private PKCS#8, public SPKI).
    public static func generateKeyPair() -> (privatePEM: String, publicPEM: String) {
        let key = P256.Signing.PrivateKey()
        return (key.pemRepresentation, key.publicKey.pemRepresentation)
    }

    /// Writes `<name>.key` (mode 0600) and `<name>.pub` (0644) atomically; refuses to overwrite unless asked.
    @discardableResult
    public static func writeKeyPair(name: String, overwrite: Bool = false) throws -> (privateKey: String, publicKey: String) {
        let priv = name + ".key", pub = name + ".pub"
        if !overwrite {
            for p in [priv, pub] where FileManager.default.fileExists(atPath: p) {
                throw PackagingError.key(path: p, message: "already exists; choose another name or remove it")
            }
        }
        let pair = generateKeyPair()
        do {
            try AtomicFile.write(Data((pair.privatePEM + "\n").utf8), to: priv, mode: 0o600)
            try AtomicFile.write(Data((pair.publicPEM + "\n").utf8), to: pub, mode: 0o644)
        } catch {
            throw PackagingError.key(path: name, message: "cannot write the key pair: \(error)")
        }
        return (priv, pub)
    }

    /// Loads a private key from a PEM file.
    public static func loadPrivateKey(path: String) throws -> P256.Signing.PrivateKey {
        let text = try readPEM(path)
        do { return try P256.Signing.PrivateKey(pemRepresentation: text) } catch {
            throw PackagingError.key(path: path, message: "not an ECDSA P-256 private key in PEM (PKCS#8 \"PRIVATE KEY\" or \"EC PRIVATE KEY\"); encrypted cosign keys are not supported")
        }
    }

    /// Loads a public key from a PEM file.
    public static func loadPublicKey(path: String) throws -> P256.Signing.PublicKey {
        let text = try readPEM(path)
        do { return try P256.Signing.PublicKey(pemRepresentation: text) } catch {
            throw PackagingError.key(path: path, message: "not an ECDSA P-256 public key in PEM (\"PUBLIC KEY\")")
        }
    }

    private static func readPEM(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw PackagingError.key(path: path, message: "cannot read the key file")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The signature file contents for `data` (base64 of the DER signature, no newline).
    public static func sign(_ data: Data, with key: P256.Signing.PrivateKey) throws -> Data {
        let sig = try key.signature(for: data)
        return Data(sig.derRepresentation.base64EncodedString().utf8)
    }

    /// Checks a signature file's contents against `data`; throws a clear error when it does not verify.
    public static func verify(signatureFile: Data, for data: Data, with key: P256.Signing.PublicKey, keyPath: String) throws {
        let text = String(decoding: signatureFile, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let der = Data(base64Encoded: text) else {
            throw PackagingError.signature("\(PackageLayout.signature) is not base64")
        }
        guard let sig = try? P256.Signing.ECDSASignature(derRepresentation: der) else {
            throw PackagingError.signature("\(PackageLayout.signature) is not an ASN.1 DER ECDSA signature")
        }
        guard key.isValidSignature(sig, for: data) else {
            throw PackagingError.signature("zarf.yaml does not verify with \(keyPath): the package was signed with another key or modified after signing")
        }
    }
}
