import Foundation
import Packaging
import Testing
import TestSupport

@Suite("signing: ECDSA P-256 keys, cosign-style zarf.yaml.sig, checked with openssl")
struct SigningTests {
    @Test("keys generate writes PKCS#8 and SPKI PEM with mode 0600 for the private key; openssl reads them")
    func keyFiles() async throws {
        try await withTemporaryDirectory { root in
            let name = root + "/site"
            try PackageSigning.writeKeyPair(name: name)
            let priv = try String(contentsOfFile: name + ".key", encoding: .utf8)
            let pub = try String(contentsOfFile: name + ".pub", encoding: .utf8)
            #expect(priv.hasPrefix("-----BEGIN PRIVATE KEY-----"))
            #expect(pub.hasPrefix("-----BEGIN PUBLIC KEY-----"))
            let mode = try FileManager.default.attributesOfItem(atPath: name + ".key")[.posixPermissions] as? Int
            #expect(mode == 0o600)
            let text = try ProcessRunner.run("openssl", ["pkey", "-in", name + ".key", "-noout", "-text"], check: true).out
            #expect(text.contains("prime256v1") || text.contains("P-256"))
            let derived = try ProcessRunner.run("openssl", ["pkey", "-in", name + ".key", "-pubout"], check: true).out
            #expect(derived.trimmingCharacters(in: .whitespacesAndNewlines) == pub.trimmingCharacters(in: .whitespacesAndNewlines))
            // A second generate refuses to overwrite.
            #expect(throws: PackagingError.self) { try PackageSigning.writeKeyPair(name: name) }
        }
    }

    @Test("a signed package's zarf.yaml.sig verifies with openssl; Outpost refuses another key and a modified zarf.yaml")
    func signAndVerify() async throws {
        try await withTemporaryDirectory { root in
            try PackageSigning.writeKeyPair(name: root + "/a")
            try PackageSigning.writeKeyPair(name: root + "/b")
            let pkg = try ReaderTests.plainPackage(in: root, sign: root + "/a.key")
            let c = try PackageReader.verify(path: pkg, publicKeyPath: root + "/a.pub")
            #expect(c.signatureVerified == true)
            #expect(c.package.build?.signed == true)
            let sig = try #require(c.signature)
            #expect(!sig.contains(UInt8(ascii: "\n")))

            // openssl, an independent implementation, accepts it.
            try c.zarfYAML.write(to: URL(fileURLWithPath: root + "/zarf.yaml"))
            try #require(Data(base64Encoded: sig)).write(to: URL(fileURLWithPath: root + "/sig.der"))
            let ok = try ProcessRunner.run("openssl", ["dgst", "-sha256", "-verify", root + "/a.pub", "-signature", root + "/sig.der", root + "/zarf.yaml"])
            #expect(ok.status == 0, "\(ok.err)")
            #expect(ok.out.contains("Verified OK"))
            let other = try ProcessRunner.run("openssl", ["dgst", "-sha256", "-verify", root + "/b.pub", "-signature", root + "/sig.der", root + "/zarf.yaml"])
            #expect(other.status != 0)

            // Another key is refused.
            #expect(throws: PackagingError.self) { try PackageReader.verify(path: pkg, publicKeyPath: root + "/b.pub") }
            // A modified zarf.yaml (a description byte flipped) is refused by the signature check.
            let off = try #require(try tarDataOffset(pkg, entry: "zarf.yaml"))
            let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: pkg)).dropFirst(off).prefix(2000), as: UTF8.self)
            let idx = text.utf8.distance(from: text.startIndex, to: text.range(of: "A test package")!.lowerBound)
            try Fixtures.flipByte(pkg, at: off + idx + 2)  // "test" becomes "uest"
            do { _ = try PackageReader.verify(path: pkg, publicKeyPath: root + "/a.pub"); Issue.record("accepted") } catch let e as PackagingError {
                guard case .signature(let m) = e else { Issue.record("wrong error \(e)"); return }
                #expect(m.contains("modified") || m.contains("another key"))
            }
        }
    }

    @Test("an unsigned package fails verification when a key is given")
    func missingSignature() async throws {
        try await withTemporaryDirectory { root in
            try PackageSigning.writeKeyPair(name: root + "/a")
            let pkg = try ReaderTests.plainPackage(in: root)
            do { _ = try PackageReader.verify(path: pkg, publicKeyPath: root + "/a.pub"); Issue.record("accepted") } catch let e as PackagingError {
                #expect("\(e)".contains("not signed"))
            }
            #expect(try PackageReader.verify(path: pkg).signatureVerified == nil)
        }
    }

    @Test("a signature made by openssl with an openssl key verifies in Outpost")
    func opensslSigned() async throws {
        try await withTemporaryDirectory { root in
            try ProcessRunner.run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", root + "/ossl.key"], check: true)
            try ProcessRunner.run("openssl", ["ec", "-in", root + "/ossl.key", "-pubout", "-out", root + "/ossl.pub"], check: true)
            let data = Data("kind: ZarfPackageConfig\nmetadata:\n  name: x\n".utf8)
            try data.write(to: URL(fileURLWithPath: root + "/zarf.yaml"))
            try ProcessRunner.run("openssl", ["dgst", "-sha256", "-sign", root + "/ossl.key", "-out", root + "/sig.der", root + "/zarf.yaml"], check: true)
            let sig = Data(try Data(contentsOf: URL(fileURLWithPath: root + "/sig.der")).base64EncodedString().utf8)
            let key = try PackageSigning.loadPublicKey(path: root + "/ossl.pub")
            try PackageSigning.verify(signatureFile: sig, for: data, with: key, keyPath: "ossl.pub")
            #expect(throws: PackagingError.self) {
                try PackageSigning.verify(signatureFile: sig, for: data + Data("x".utf8), with: key, keyPath: "ossl.pub")
            }
            // The SEC1 "EC PRIVATE KEY" that openssl wrote also signs packages in Outpost.
            let priv = try PackageSigning.loadPrivateKey(path: root + "/ossl.key")
            let mine = try PackageSigning.sign(data, with: priv)
            try Data(base64Encoded: mine)!.write(to: URL(fileURLWithPath: root + "/mine.der"))
            let r = try ProcessRunner.run("openssl", ["dgst", "-sha256", "-verify", root + "/ossl.pub", "-signature", root + "/mine.der", root + "/zarf.yaml"])
            #expect(r.status == 0)
        }
    }
}
