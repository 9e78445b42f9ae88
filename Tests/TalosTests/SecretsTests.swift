import Foundation
import Talos
import TestSupport
import Testing

@Suite("Secrets bundle")
struct SecretsTests {
    let bundle = sharedBundle

    @Test func identifiersAndTokensHaveTalosShapes() throws {
        let token = try Regex("^[0-9a-z]{6}\\.[0-9a-z]{16}$")
        #expect(bundle.bootstrapToken.wholeMatch(of: token) != nil)
        #expect(bundle.trustdToken.wholeMatch(of: token) != nil)
        #expect(bundle.bootstrapToken != bundle.trustdToken)
        // cluster id: URL-safe base64 of 32 bytes; the others standard base64 of 32 bytes
        #expect(!bundle.clusterID.contains("+") && !bundle.clusterID.contains("/"))
        let id = Data(base64Encoded: bundle.clusterID.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/"))
        #expect(id?.count == 32)
        #expect(Data(base64Encoded: bundle.clusterSecret)?.count == 32)
        #expect(Data(base64Encoded: bundle.secretboxEncryptionSecret)?.count == 32)
        #expect(Set([bundle.clusterSecret, bundle.secretboxEncryptionSecret]).count == 2)
    }

    @Test func yamlLayoutMatchesTalosctl() throws {
        let yaml = try bundle.yaml()
        let lines = yaml.split(separator: "\n").map(String.init)
        let keys = lines.map { line -> String in
            let indent = line.prefix { $0 == " " }.count
            return String(repeating: " ", count: indent) + String(line.dropFirst(indent).split(separator: ":")[0])
        }
        #expect(keys == [
            "cluster", "    id", "    secret",
            "secrets", "    bootstraptoken", "    secretboxencryptionsecret",
            "trustdinfo", "    token",
            "certs",
            "    etcd", "        crt", "        key",
            "    k8s", "        crt", "        key",
            "    k8saggregator", "        crt", "        key",
            "    k8sserviceaccount", "        key",
            "    os", "        crt", "        key",
        ])
        let parsed = try SecretsBundle(yaml: yaml, file: "secrets.yaml")
        #expect(parsed == bundle)
    }

    @Test func writtenWithMode0600AndNeverOverwrittenWithoutForce() throws {
        try withTemporaryDirectorySync { dir in
            let path = "\(dir)/secrets.yaml"
            try TalosFiles.writeSecrets(bundle, to: path, force: false)
            let attrs = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            let other = try SecretsBundle(yaml: try bundle.yaml().replacingOccurrences(of: bundle.trustdToken, with: "abcdef.0123456789abcdef"), file: "x")
            #expect(throws: TalosError.self) { try TalosFiles.writeSecrets(other, to: path, force: false) }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
            try TalosFiles.writeSecrets(other, to: path, force: true)
            #expect(try TalosFiles.readSecrets(path).trustdToken == "abcdef.0123456789abcdef")
            // nothing but the bundle in the directory: no temporary file left behind
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["secrets.yaml"])
        }
    }

    @Test func badBundlesNameTheKey() throws {
        let yaml = try bundle.yaml()
        func failure(_ text: String) -> String {
            do { _ = try SecretsBundle(yaml: text, file: "s.yaml"); return "" } catch { return "\(error)" }
        }
        #expect(failure(yaml.replacingOccurrences(of: bundle.bootstrapToken, with: "BAD")).contains("secrets.bootstraptoken"))
        var lines = yaml.components(separatedBy: "\n")
        let sa = try #require(lines.firstIndex { $0.contains("k8sserviceaccount:") })
        lines.removeSubrange(sa...(sa + 1))
        #expect(failure(lines.joined(separator: "\n")) == "s.yaml: secrets bundle key certs.k8sserviceaccount.key: is missing (regenerate with `outpost talos gen secrets`)")
        let swapped = yaml.replacingOccurrences(of: Data(bundle.os.key.utf8).base64EncodedString(),
                                                with: Data(bundle.etcd.key.utf8).base64EncodedString())
        #expect(failure(swapped).contains("certs.os.key: holds PEM \"EC PRIVATE KEY\""))
    }

    // MARK: openssl checks

    struct Expect {
        var name: String
        var pair: PEMPair
        var subject: String
        var ed25519: Bool
    }

    var cas: [Expect] {
        [Expect(name: "os", pair: bundle.os, subject: "O=talos", ed25519: true),
         Expect(name: "etcd", pair: bundle.etcd, subject: "O=etcd", ed25519: false),
         Expect(name: "k8s", pair: bundle.k8s, subject: "O=kubernetes", ed25519: false),
         Expect(name: "k8saggregator", pair: bundle.k8sAggregator, subject: "", ed25519: false)]
    }

    @Test func certificateAuthoritiesPassOpenssl() throws {
        try withTemporaryDirectorySync { dir in
            for ca in cas {
                let crt = "\(dir)/\(ca.name).crt"
                try write(ca.pair.certificate, crt)
                let text = try openssl(["x509", "-in", crt, "-noout", "-text"])
                if ca.ed25519 {
                    #expect(text.contains("Public Key Algorithm: ED25519"), "\(ca.name)")
                    #expect(text.contains("Signature Algorithm: ED25519"), "\(ca.name)")
                } else {
                    #expect(text.contains("Public Key Algorithm: id-ecPublicKey"), "\(ca.name)")
                    #expect(text.contains("ASN1 OID: prime256v1"), "\(ca.name)")
                    #expect(text.contains("Signature Algorithm: ecdsa-with-SHA256"), "\(ca.name)")
                }
                #expect(text.contains("CA:TRUE"), "\(ca.name)")
                #expect(text.contains("Digital Signature, Certificate Sign"), "\(ca.name)")
                #expect(text.contains("TLS Web Server Authentication, TLS Web Client Authentication"), "\(ca.name)")
                let subject = try openssl(["x509", "-in", crt, "-noout", "-subject", "-issuer", "-nameopt", "RFC2253"])
                #expect(subject == "subject=\(ca.subject)\nissuer=\(ca.subject)\n", "\(ca.name)")
                // self-signed and valid now
                #expect(try openssl(["verify", "-CAfile", crt, crt]).contains("OK"), "\(ca.name)")
                #expect(try validityHours(crt) == 87_600, "\(ca.name)")
            }
        }
    }

    @Test func keysPassOpensslAndMatchTheirCertificates() throws {
        try withTemporaryDirectorySync { dir in
            for ca in cas {
                let crt = "\(dir)/\(ca.name).crt", key = "\(dir)/\(ca.name).key"
                try write(ca.pair.certificate, crt)
                if ca.ed25519 {
                    #expect(ca.pair.key.hasPrefix("-----BEGIN ED25519 PRIVATE KEY-----\n"))
                    // Talos's label wraps plain PKCS#8: openssl reads it under the standard label
                    try write(ca.pair.key.replacingOccurrences(of: "ED25519 PRIVATE KEY", with: "PRIVATE KEY"), key)
                    #expect(try openssl(["pkey", "-in", key, "-noout", "-text"]).contains("ED25519 Private-Key"))
                } else {
                    #expect(ca.pair.key.hasPrefix("-----BEGIN EC PRIVATE KEY-----\n"), "\(ca.name)")
                    try write(ca.pair.key, key)
                    let text = try openssl(["ec", "-in", key, "-noout", "-text"])
                    #expect(text.contains("Private-Key: (256 bit)"), "\(ca.name)")
                    #expect(text.contains("ASN1 OID: prime256v1"), "\(ca.name)")
                    // SEC1 structure: version 1 first, no PKCS#8 wrapper
                    let asn1 = try openssl(["asn1parse", "-in", key])
                    #expect(asn1.split(separator: "\n")[1].contains("INTEGER           :01"), "\(ca.name)")
                }
                let fromKey = try openssl(["pkey", "-in", key, "-pubout"])
                let fromCert = try openssl(["x509", "-in", crt, "-noout", "-pubkey"])
                #expect(fromKey == fromCert, "\(ca.name): key does not match certificate")
            }
        }
    }

    @Test func serviceAccountKeyIsRSA4096PKCS1() throws {
        try withTemporaryDirectorySync { dir in
            let key = "\(dir)/sa.key"
            try write(bundle.k8sServiceAccountKey, key)
            #expect(bundle.k8sServiceAccountKey.hasPrefix("-----BEGIN RSA PRIVATE KEY-----\n"))
            let text = try openssl(["pkey", "-in", key, "-noout", "-text"])
            #expect(text.contains("Private-Key: (4096 bit, 2 primes)"))
            #expect(try openssl(["rsa", "-in", key, "-check", "-noout"]).contains("RSA key ok"))
            // PKCS#1: a bare SEQUENCE of INTEGERs, no rsaEncryption AlgorithmIdentifier
            let asn1 = try openssl(["asn1parse", "-in", key])
            #expect(!asn1.contains("rsaEncryption"))
            #expect(asn1.split(separator: "\n")[1].contains("INTEGER           :00"))
        }
    }
}

/// notAfter − notBefore of a certificate, in hours.
func validityHours(_ crt: String) throws -> Int {
    let out = try openssl(["x509", "-in", crt, "-noout", "-startdate", "-enddate", "-dateopt", "iso_8601"])
    var dates: [Date] = []
    let f = ISO8601DateFormatter()
    for line in out.split(separator: "\n") {
        let value = line.split(separator: "=", maxSplits: 1)[1].replacingOccurrences(of: " ", with: "T")
        if let d = f.date(from: value) { dates.append(d) }
    }
    guard dates.count == 2 else { throw ProcessRunnerError.notFound("dates in \(out)") }
    return Int((dates[1].timeIntervalSince(dates[0]) / 3600).rounded())
}
