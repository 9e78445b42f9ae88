import Crypto
import _CryptoExtras
import Foundation
import SwiftASN1
import X509

/// A certificate and its private key as PEM text, the form Talos keeps them in (then base64-encoded).
public struct PEMPair: Sendable, Hashable {
    public var certificate: String
    public var key: String
    public init(certificate: String, key: String) { self.certificate = certificate; self.key = key }
}

/// Key and certificate generation with the exact encodings Talos expects: Ed25519 keys as PKCS#8 under the
/// label "ED25519 PRIVATE KEY", P-256 keys as SEC1 "EC PRIVATE KEY", RSA keys as PKCS#1 "RSA PRIVATE KEY",
/// and CAs with CertSign|DigitalSignature, ServerAuth+ClientAuth, IsCA.
public enum PKI {
    static let ed25519PEMLabel = "ED25519 PRIVATE KEY"
    static let ecPEMLabel = "EC PRIVATE KEY"
    static let rsaPEMLabel = "RSA PRIVATE KEY"

    /// Which key type a CA gets.
    public enum KeyType: Sendable { case ed25519, p256 }

    /// X.509 times have whole seconds; a fractional `now` could be encoded after the moment the
    /// certificate is first checked ("not yet valid"), so validity starts at the whole second.
    static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    /// A self-signed CA valid from `now` for `validity` seconds.
    public static func certificateAuthority(organization: String?, keyType: KeyType, now: Date,
                                            validity: TimeInterval = TalosDefaults.caValidity) throws -> PEMPair {
        let (priv, keyPEM): (Certificate.PrivateKey, String)
        switch keyType {
        case .ed25519:
            let k = Curve25519.Signing.PrivateKey()
            (priv, keyPEM) = (Certificate.PrivateKey(k), ed25519PEM(k))
        case .p256:
            let k = P256.Signing.PrivateKey()
            (priv, keyPEM) = (Certificate.PrivateKey(k), try sec1PEM(k))
        }
        let name = try distinguishedName(organization: organization)
        do {
            let cert = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: priv.publicKey,
                notValidBefore: Self.wholeSeconds(now), notValidAfter: Self.wholeSeconds(now).addingTimeInterval(validity),
                issuer: name, subject: name, signatureAlgorithm: signatureAlgorithm(keyType),
                extensions: try Certificate.Extensions {
                    Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
                    try ExtendedKeyUsage([.serverAuth, .clientAuth])
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    SubjectKeyIdentifier(hash: priv.publicKey)
                },
                issuerPrivateKey: priv)
            return PEMPair(certificate: try cert.serializeAsPEM().pemString + "\n", key: keyPEM)
        } catch {
            throw TalosError.crypto("\(organization ?? "(empty subject)") CA: \(error)")
        }
    }

    /// A client certificate with an Ed25519 key, signed by the Ed25519 CA `ca`: Talos API clients (O = role).
    public static func ed25519ClientCertificate(organization: String, signedBy ca: PEMPair, now: Date,
                                                validity: TimeInterval) throws -> PEMPair {
        do {
            let caKey = try ed25519Key(fromPEM: ca.key)
            let caCert = try Certificate(pemEncoded: ca.certificate)
            let key = Curve25519.Signing.PrivateKey()
            let pub = Certificate.PublicKey(key.publicKey)
            let skiOfCA = try caCert.extensions.subjectKeyIdentifier?.keyIdentifier
            let cert = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: pub,
                notValidBefore: Self.wholeSeconds(now), notValidAfter: Self.wholeSeconds(now).addingTimeInterval(validity),
                issuer: caCert.subject, subject: try distinguishedName(organization: organization),
                signatureAlgorithm: .ed25519,
                extensions: try Certificate.Extensions {
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.clientAuth])
                    Critical(BasicConstraints.notCertificateAuthority)
                    AuthorityKeyIdentifier(keyIdentifier: skiOfCA)
                },
                issuerPrivateKey: Certificate.PrivateKey(caKey))
            return PEMPair(certificate: try cert.serializeAsPEM().pemString + "\n", key: ed25519PEM(key))
        } catch let e as TalosError {
            throw e
        } catch {
            throw TalosError.crypto("client certificate for \(organization): \(error)")
        }
    }

    /// An RSA-4096 key as PKCS#1 PEM ("RSA PRIVATE KEY"): the Kubernetes service-account signing key.
    public static func rsaServiceAccountKey(bits: Int = 4096) throws -> String {
        do {
            let size: _RSA.Signing.KeySize = bits == 4096 ? .bits4096 : .init(bitCount: bits)
            let key = try _RSA.Signing.PrivateKey(keySize: size)
            return PEMDocument(type: rsaPEMLabel, derBytes: Array(key.derRepresentation)).pemString + "\n"
        } catch {
            throw TalosError.crypto("RSA key: \(error)")
        }
    }

    // MARK: encodings

    /// PKCS#8 (RFC 8410) of an Ed25519 key under Talos's label.
    static func ed25519PEM(_ key: Curve25519.Signing.PrivateKey) -> String {
        // PrivateKeyInfo { version 0, AlgorithmIdentifier { id-Ed25519 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }
        let prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
        return PEMDocument(type: ed25519PEMLabel, derBytes: prefix + Array(key.rawRepresentation)).pemString + "\n"
    }

    /// Reads an Ed25519 key from Talos's PEM (PKCS#8 under "ED25519 PRIVATE KEY" or "PRIVATE KEY").
    public static func ed25519Key(fromPEM pem: String) throws -> Curve25519.Signing.PrivateKey {
        let doc = try PEMDocument(pemString: pem)
        guard doc.discriminator == ed25519PEMLabel || doc.discriminator == "PRIVATE KEY" else {
            throw TalosError.crypto("expected an Ed25519 private key, found PEM \"\(doc.discriminator)\"")
        }
        let der = doc.derBytes
        guard der.count == 48, Array(der.prefix(16)) == [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
        else { throw TalosError.crypto("the Ed25519 key is not PKCS#8 (RFC 8410)") }
        return try Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32))
    }

    /// SEC1 (RFC 5915) ECPrivateKey with the named curve and public key.
    static func sec1PEM(_ key: P256.Signing.PrivateKey) throws -> String {
        var ser = DER.Serializer()
        try ser.appendConstructedNode(identifier: .sequence) { s in
            try s.serialize(1)
            try s.serialize(ASN1OctetString(contentBytes: ArraySlice(key.rawRepresentation)))
            try s.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { t in
                try t.serialize(ASN1ObjectIdentifier.NamedCurves.secp256r1)
            }
            try s.serialize(explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific) { t in
                try t.serialize(ASN1BitString(bytes: ArraySlice(key.publicKey.x963Representation)))
            }
        }
        return PEMDocument(type: ecPEMLabel, derBytes: ser.serializedBytes).pemString + "\n"
    }

    static func distinguishedName(organization: String?) throws -> DistinguishedName {
        guard let organization else { return DistinguishedName() }
        return try DistinguishedName { OrganizationName(organization) }
    }

    static func signatureAlgorithm(_ t: KeyType) -> Certificate.SignatureAlgorithm {
        switch t {
        case .ed25519: return .ed25519
        case .p256: return .ecdsaWithSHA256
        }
    }

    /// The PEM label of `pem`, or nil when it is not PEM.
    public static func label(of pem: String) -> String? { (try? PEMDocument(pemString: pem))?.discriminator }
}
