@testable import Charts
import Foundation
import Testing
import TestSupport

/// Renders with the system's randomness and clock (the deterministic flag off).
func renderLive(_ text: String) throws -> String {
    let set = TemplateSet(functions: FunctionLibrary.standard)
    try set.parse(name: "t", text: text)
    return try set.execute(name: "t", data: .dict([:]))
}

/// The error text a template fails with.
func templateError(_ text: String, deterministic: Bool = true) -> String? {
    do {
        _ = deterministic ? try renderTemplate(text) : try renderLive(text)
        return nil
    } catch { return "\(error)" }
}

/// Sprig's key and certificate functions, checked with openssl (x509 -text, verify, pkey).
@Suite(.serialized) struct CryptoFunctionTests {
    static func openssl(_ args: [String], stdin: String? = nil) throws -> ProcessResult {
        try ProcessRunner.run("openssl", args, stdin: stdin.map { Data($0.utf8) })
    }

    /// Writes PEM text to a file in `dir` and returns its path.
    static func write(_ dir: String, _ name: String, _ text: String) throws -> String {
        let path = dir + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `openssl x509 -noout -text` of a certificate.
    static func x509Text(_ path: String) throws -> String {
        let r = try openssl(["x509", "-in", path, "-noout", "-text"])
        #expect(r.status == 0, "openssl x509: \(r.err)")
        return r.out
    }

    /// Validity in days from `openssl x509 -dates`.
    static func validityDays(_ path: String) throws -> Double {
        let r = try openssl(["x509", "-in", path, "-noout", "-dates"])
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        var dates: [Date] = []
        for line in r.out.split(separator: "\n") {
            let value = line.split(separator: "=", maxSplits: 1)[1].split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            dates.append(try #require(f.date(from: value), "date \(value)"))
        }
        return dates[1].timeIntervalSince(dates[0]) / 86400
    }

    static let split = "\n=====\n"

    @Test(arguments: [("rsa", "Private-Key: (4096 bit"), ("", "Private-Key: (4096 bit"), ("ecdsa", "ASN1 OID: prime256v1"), ("ed25519", "ED25519 Private-Key")])
    func genPrivateKeyTypes(_ type: String, _ expected: String) throws {
        let pem = try renderLive("{{ genPrivateKey \"\(type)\" }}")
        let header = ["rsa": "RSA PRIVATE KEY", "": "RSA PRIVATE KEY", "ecdsa": "EC PRIVATE KEY", "ed25519": "PRIVATE KEY"][type]!
        #expect(pem.hasPrefix("-----BEGIN \(header)-----\n") && pem.hasSuffix("-----END \(header)-----\n"))
        try withScratch { dir in
            let r = try Self.openssl(["pkey", "-in", try Self.write(dir, "k.pem", pem), "-noout", "-text"])
            #expect(r.status == 0, "openssl pkey: \(r.err)")
            #expect(r.out.contains(expected), "\(r.out.prefix(200))")
        }
    }

    @Test func genPrivateKeyUnknownAndDSA() {
        #expect((try? renderTemplate("{{ genPrivateKey \"foo\" }}")) == "Unknown type foo")
        #expect(templateError("{{ genPrivateKey \"dsa\" }}")?.contains("dsa keys are not supported") == true)
    }

    @Test func genCAIsACertificateAuthority() throws {
        let out = try renderLive("{{ $ca := genCA \"my-ca\" 365 }}{{ $ca.Cert }}\(Self.split){{ $ca.Key }}")
        let parts = out.components(separatedBy: Self.split)
        try withScratch { dir in
            let cert = try Self.write(dir, "ca.pem", parts[0]), key = try Self.write(dir, "ca.key", parts[1])
            let text = try Self.x509Text(cert)
            #expect(text.contains("Subject: CN = my-ca") && text.contains("Issuer: CN = my-ca"))
            #expect(text.contains("CA:TRUE"))
            #expect(text.contains("Digital Signature, Key Encipherment, Certificate Sign"))
            #expect(text.contains("TLS Web Server Authentication, TLS Web Client Authentication"))
            #expect(text.contains("Public-Key: (2048 bit)") && text.contains("sha256WithRSAEncryption"))
            #expect(text.contains("X509v3 Subject Key Identifier"))
            #expect(try Self.validityDays(cert) == 365)
            #expect(parts[1].hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
            // the key belongs to the certificate, and the CA verifies itself
            let certPub = try Self.openssl(["x509", "-in", cert, "-noout", "-pubkey"]).out
            let keyPub = try Self.openssl(["pkey", "-in", key, "-pubout"]).out
            #expect(!certPub.isEmpty && certPub == keyPub)
            let v = try Self.openssl(["verify", "-CAfile", cert, cert])
            #expect(v.status == 0 && v.out.contains("OK"), "\(v.out) \(v.err)")
        }
    }

    @Test func signedCertificateVerifiesAgainstItsCA() throws {
        let out = try renderLive("""
            {{- $ca := genCA "root" 30 -}}
            {{- $c := genSignedCert "svc" (list "10.0.0.1" "::1") (list "svc.local" "svc") 7 $ca -}}
            {{ $ca.Cert }}\(Self.split){{ $c.Cert }}\(Self.split){{ $c.Key }}
            """)
        let parts = out.components(separatedBy: Self.split)
        try withScratch { dir in
            let ca = try Self.write(dir, "ca.pem", parts[0]), leaf = try Self.write(dir, "leaf.pem", parts[1])
            let v = try Self.openssl(["verify", "-CAfile", ca, "-purpose", "sslserver", leaf])
            #expect(v.status == 0 && v.out.contains("OK"), "\(v.out) \(v.err)")
            let text = try Self.x509Text(leaf)
            #expect(text.contains("Subject: CN = svc") && text.contains("Issuer: CN = root"))
            #expect(text.contains("CA:FALSE"))
            #expect(text.contains("DNS:svc.local, DNS:svc, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1"))
            #expect(text.contains("X509v3 Authority Key Identifier"))
            #expect(!text.contains("Certificate Sign"))
            #expect(try Self.validityDays(leaf) == 7)
            // a certificate from another CA does not verify
            let other = try renderLive("{{ (genCA \"other\" 1).Cert }}")
            let bad = try Self.openssl(["verify", "-CAfile", try Self.write(dir, "other.pem", other), leaf])
            #expect(bad.status != 0)
        }
    }

    @Test func selfSignedCertificate() throws {
        let out = try renderLive("{{ $c := genSelfSignedCert \"host.example\" nil (list \"a.example\") 10 }}{{ $c.Cert }}")
        try withScratch { dir in
            let cert = try Self.write(dir, "c.pem", out)
            let text = try Self.x509Text(cert)
            #expect(text.contains("Subject: CN = host.example") && text.contains("Issuer: CN = host.example"))
            #expect(text.contains("DNS:a.example") && !text.contains("IP Address"))
            #expect(text.contains("CA:FALSE") && !text.contains("Subject Key Identifier"))
            #expect(try Self.validityDays(cert) == 10)
        }
    }

    @Test func withKeyVariantsUseTheGivenKey() throws {
        let out = try renderLive("""
            {{- $ek := genPrivateKey "ecdsa" -}}{{- $edk := genPrivateKey "ed25519" -}}
            {{- $ca := genCAWithKey "ec-ca" 5 $ek -}}
            {{- $ss := genSelfSignedCertWithKey "ed" (list "127.0.0.1") nil 5 $edk -}}
            {{- $leaf := genSignedCertWithKey "leaf" nil (list "leaf.local") 5 $ca $edk -}}
            {{ $ca.Cert }}\(Self.split){{ $ss.Cert }}\(Self.split){{ $leaf.Cert }}\(Self.split){{ eq $ca.Key $ek }} {{ eq $ss.Key $edk }} {{ eq $leaf.Key $edk }}
            """)
        let parts = out.components(separatedBy: Self.split)
        #expect(parts[3] == "true true true")
        try withScratch { dir in
            let ca = try Self.write(dir, "ca.pem", parts[0])
            let caText = try Self.x509Text(ca)
            #expect(caText.contains("id-ecPublicKey") && caText.contains("ecdsa-with-SHA256") && caText.contains("CA:TRUE"))
            let ssText = try Self.x509Text(try Self.write(dir, "ss.pem", parts[1]))
            #expect(ssText.contains("ED25519") && ssText.contains("IP Address:127.0.0.1"))
            let leaf = try Self.write(dir, "leaf.pem", parts[2])
            let v = try Self.openssl(["verify", "-CAfile", ca, leaf])
            #expect(v.status == 0, "\(v.out) \(v.err)")
            #expect(try Self.x509Text(leaf).contains("ecdsa-with-SHA256"))
        }
    }

    @Test func buildCustomCertRoundTrips() throws {
        let out = try renderLive("""
            {{- $ca := genCA "c" 1 -}}{{- $b := buildCustomCert (b64enc $ca.Cert) (b64enc $ca.Key) -}}
            {{ eq $b.Cert $ca.Cert }} {{ eq $b.Key $ca.Key }} {{ typeOf $b }}
            """)
        #expect(out == "true true sprig.certificate")
        #expect(templateError("{{ buildCustomCert \"!!\" \"\" }}", deterministic: false)?.contains("error calling buildCustomCert: unable to decode base64 certificate") == true)
        #expect(templateError("{{ buildCustomCert (b64enc \"x\") (b64enc \"y\") }}", deterministic: false)?.contains("unable to decode certificate") == true)
        let e = templateError("{{ $ca := genCA \"c\" 1 }}{{ buildCustomCert (b64enc $ca.Cert) (b64enc \"junk\") }}", deterministic: false)
        #expect(e?.contains("error parsing private key: no PEM data in input") == true, "\(e ?? "")")
    }

    @Test func certificateErrors() {
        #expect(templateError("{{ genCAWithKey \"x\" 1 \"garbage\" }}", deterministic: false)?.contains("error calling genCAWithKey: parsing private key: no PEM data in input") == true)
        #expect(templateError("{{ genSelfSignedCert \"x\" (list \"not-an-ip\") nil 1 }}", deterministic: false)?.contains("error parsing ip: not-an-ip") == true)
        #expect(templateError("{{ genSelfSignedCert \"x\" nil (list 5) 1 }}", deterministic: false)?.contains("error processing alternate dns name: 5 is not a string") == true)
        let wrongCA = templateError("{{ genSignedCert \"x\" nil nil 1 (dict \"Cert\" \"a\" \"Key\" \"b\") }}", deterministic: false)
        #expect(wrongCA?.contains("wrong type for value; expected sprig.certificate; got map[string]interface {}") == true, "\(wrongCA ?? "")")
        let pemCert = "-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n"
        #expect(templateError("{{ genCAWithKey \"x\" 1 \"\(pemCert)\" }}", deterministic: false)?.contains("no private key data in PEM block of type CERTIFICATE") == true)
    }

    @Test func deterministicFlagReproducesKeysAndCertificates() throws {
        let t = "{{ genPrivateKey \"ecdsa\" }}{{ genPrivateKey \"ed25519\" }}{{ $ca := genCA \"d\" 3 }}{{ $ca.Cert }}{{ $ca.Key }}{{ (genSignedCert \"l\" nil nil 3 $ca).Cert }}"
        let a = try renderTemplate(t), b = try renderTemplate(t)
        #expect(a == b)
        #expect(try renderLive(t) != a)
        // the seeded RSA key is a valid 2048-bit key, and its certificate carries the fixed clock
        let parts = try renderTemplate("{{ $ca := genCA \"d\" 3 }}{{ $ca.Cert }}\(Self.split){{ $ca.Key }}").components(separatedBy: Self.split)
        try withScratch { dir in
            let key = try Self.write(dir, "k.pem", parts[1])
            let check = try Self.openssl(["rsa", "-in", key, "-check", "-noout"])
            #expect(check.status == 0 && check.out.contains("RSA key ok"), "\(check.out) \(check.err)")
            let cert = try Self.write(dir, "c.pem", parts[0])
            #expect(try Self.x509Text(cert).contains("Not Before: Nov 14 22:13:20 2023 GMT"))
            // valid at the fixed clock (1700000000), expired three days later
            #expect(try Self.openssl(["verify", "-attime", "1700000100", "-CAfile", cert, cert]).status == 0)
            #expect(try Self.openssl(["verify", "-attime", "1700300000", "-CAfile", cert, cert]).status != 0)
        }
    }
}
