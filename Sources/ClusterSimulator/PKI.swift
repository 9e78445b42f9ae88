import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate authority generated for one simulator run and the serving certificate it signs for
/// the API server (valid for localhost, 127.0.0.1 and `kubernetes.default.svc`). Tests can use it to
/// issue certificates for their own TLS servers (webhooks).
public struct CertificateAuthority: Sendable {
    public let certificatePEM: String
    public let privateKeyPEM: String
    private let certificate: Certificate
    private let key: P256.Signing.PrivateKey

    /// Generates a new self-signed CA.
    public init(commonName: String = "outpost-sim CA") throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName); OrganizationName("outpost-sim") }
        let now = Date()
        let cert = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 365 * 86400, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        self.certificate = cert
        self.key = key
        self.certificatePEM = try cert.serializeAsPEM().pemString
        self.privateKeyPEM = key.pemRepresentation
    }

    /// Issues a server certificate for DNS names and IPv4 addresses; returns (certificate PEM, key PEM).
    public func issueServerCertificate(commonName: String, dnsNames: [String], ipAddresses: [String] = []) throws -> (certificatePEM: String, privateKeyPEM: String) {
        let leafKey = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(commonName) }
        var names: [GeneralName] = dnsNames.map { .dnsName($0) }
        for ip in ipAddresses {
            let octets = ip.split(separator: ".").compactMap { UInt8($0) }
            guard octets.count == 4 else { throw SimulatorError.tls("\(ip) is not an IPv4 address") }
            names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets))))
        }
        let now = Date()
        let cert = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(leafKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 365 * 86400, issuer: certificate.subject, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
                AuthorityKeyIdentifier(keyIdentifier: try certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: .init(key))
        return (try cert.serializeAsPEM().pemString, leafKey.pemRepresentation)
    }
}
