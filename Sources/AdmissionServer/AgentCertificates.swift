import Crypto
import Foundation
import OutpostCore
import SwiftASN1
import X509

/// The webhook's TLS material: a CA (whose PEM becomes the MutatingWebhookConfiguration's caBundle) and a
/// server certificate for the Service's DNS names, both ECDSA P-256, made with swift-certificates.
public struct AgentCertificates: Sendable {
    public let caPEM: String
    public let certificatePEM: String
    public let keyPEM: String

    public init(caPEM: String, certificatePEM: String, keyPEM: String) {
        self.caPEM = caPEM
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
    }

    /// The DNS names a Service `name.namespace.svc` is reached by.
    public static func dnsNames(for host: String) -> [String] {
        var names = [host]
        let parts = host.split(separator: ".").map(String.init)
        if parts.count >= 3, parts[2] == "svc" {
            let (name, ns) = (parts[0], parts[1])
            names = ["\(name).\(ns).svc", name, "\(name).\(ns)", "\(name).\(ns).svc.cluster.local"]
            if host != names[0] { names.insert(host, at: 0) }
        }
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }

    public static func generate(host: String, validDays: Int = 3650, now: Date = Date()) throws -> AgentCertificates {
        do {
            let caKey = P256.Signing.PrivateKey()
            let caName = try DistinguishedName { CommonName("Outpost agent CA") }
            let notBefore = now.addingTimeInterval(-300)
            let notAfter = now.addingTimeInterval(Double(validDays) * 86400)
            let ca = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
                notValidBefore: notBefore, notValidAfter: notAfter, issuer: caName, subject: caName,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: .init(caKey.publicKey))
                },
                issuerPrivateKey: .init(caKey))
            let key = P256.Signing.PrivateKey()
            let names = dnsNames(for: host)
            let leaf = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: notBefore, notValidAfter: notAfter, issuer: caName,
                subject: try DistinguishedName { CommonName(host) },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                    try ExtendedKeyUsage([.serverAuth])
                    SubjectAlternativeNames(names.map { .dnsName($0) })
                    AuthorityKeyIdentifier(keyIdentifier: try ca.extensions.subjectKeyIdentifier?.keyIdentifier)
                },
                issuerPrivateKey: .init(caKey))
            return AgentCertificates(caPEM: try ca.serializeAsPEM().pemString + "\n",
                                     certificatePEM: try leaf.serializeAsPEM().pemString + "\n",
                                     keyPEM: key.pemRepresentation + "\n")
        } catch {
            throw AgentServerError.certificateGeneration("\(error)")
        }
    }

    /// Writes `ca.crt`, `tls.crt` and `tls.key` (0600) into `directory`, each atomically.
    public func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try AtomicFile.write(Data(caPEM.utf8), to: directory + "/ca.crt")
        try AtomicFile.write(Data(certificatePEM.utf8), to: directory + "/tls.crt")
        try AtomicFile.write(Data(keyPEM.utf8), to: directory + "/tls.key", mode: 0o600)
    }
}
