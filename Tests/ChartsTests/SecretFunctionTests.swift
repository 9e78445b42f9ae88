@testable import Charts
import Foundation
import Testing
import TestSupport

/// Sprig's password and secret functions, checked with htpasswd, Python's bcrypt and openssl enc.
@Suite(.serialized) struct SecretFunctionTests {
    static func hex(_ b: some Sequence<UInt8>) -> String { b.map { String(format: "%02x", $0) }.joined() }

    @Test func htpasswdVerifiesWithApache() throws {
        let line = try renderLive("{{ htpasswd \"alice\" \"s3cret pass\" }}")
        #expect(line.hasPrefix("alice:$2a$10$") && line.count == "alice:".count + 60)
        try withScratch { dir in
            let file = dir + "/htpasswd"
            try Data((line + "\n").utf8).write(to: URL(fileURLWithPath: file))
            let good = try ProcessRunner.run("htpasswd", ["-vb", file, "alice", "s3cret pass"])
            #expect(good.status == 0, "\(good.err)")
            let bad = try ProcessRunner.run("htpasswd", ["-vb", file, "alice", "wrong"])
            #expect(bad.status != 0)
        }
        #expect(try renderTemplate("{{ htpasswd \"a:b\" \"x\" }}") == "invalid username: a:b")
    }

    @Test func bcryptVerifiesWithPythonBcrypt() throws {
        let hash = try renderLive("{{ bcrypt \"correct horse\" }}")
        #expect(hash.hasPrefix("$2a$10$") && hash.count == 60)
        let script = "import bcrypt,sys; h=sys.argv[1].encode(); print(bcrypt.checkpw(b'correct horse', h), bcrypt.checkpw(b'wrong', h))"
        let r = try ProcessRunner.run("python3", ["-c", script, hash])
        #expect(r.status == 0, "python3 bcrypt (scripts/install-deps installs it): \(r.err)")
        #expect(r.out == "True False\n")
        // salts differ between calls; deterministic renders repeat
        #expect(try renderLive("{{ bcrypt \"x\" }}") != renderLive("{{ bcrypt \"x\" }}"))
        #expect(try renderTemplate("{{ bcrypt \"x\" }}") == renderTemplate("{{ bcrypt \"x\" }}"))
        // Go's bcrypt refuses passwords over 72 bytes; Sprig returns the message as the value
        let long = String(repeating: "p", count: 73)
        #expect(try renderTemplate("{{ bcrypt \"\(long)\" }}") == "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes")
    }

    /// Sprig's own expectations for derivePassword (crypto_test.go, TestDerivePassword).
    @Test(arguments: [
        ("{{derivePassword 1 \"long\" \"password\" \"user\" \"example.com\"}}", "ZedaFaxcZaso9*"),
        ("{{derivePassword 2 \"long\" \"password\" \"user\" \"example.com\"}}", "Fovi2@JifpTupx"),
        ("{{derivePassword 1 \"maximum\" \"password\" \"user\" \"example.com\"}}", "pf4zS1LjCg&LjhsZ7T2~"),
        ("{{derivePassword 1 \"medium\" \"password\" \"user\" \"example.com\"}}", "ZedJuz8$"),
        ("{{derivePassword 1 \"basic\" \"password\" \"user\" \"example.com\"}}", "pIS54PLs"),
        ("{{derivePassword 1 \"short\" \"password\" \"user\" \"example.com\"}}", "Zed5"),
        ("{{derivePassword 1 \"pin\" \"password\" \"user\" \"example.com\"}}", "6685"),
        ("{{derivePassword 1 \"nope\" \"password\" \"user\" \"example.com\"}}", "cannot find password template nope"),
    ])
    func derivePasswordMatchesSprig(_ template: String, _ expected: String) throws {
        #expect(try renderTemplate(template) == expected)
    }

    @Test func derivePasswordMatchesPythonScrypt() throws {
        // the Master Password steps with Python's hashlib.scrypt and hmac, for a case Sprig's table lacks
        let script = """
        import hashlib, hmac, struct
        seed = b"com.lyndir.masterpassword"
        user, site, pw = "zoë".encode(), b"kube.local", b"hunter2"
        key = hashlib.scrypt(pw, salt=seed + struct.pack(">I", len(user)) + user, n=32768, r=8, p=2, maxmem=1 << 27, dklen=64)
        mac = hmac.new(key, seed + struct.pack(">I", len(site)) + site + struct.pack(">I", 7), hashlib.sha256).digest()
        temps = ["CvcnoCvc", "CvcCvcno"]
        chars = {"C": "BCDFGHJKLMNPQRSTVWXYZ", "v": "aeiou", "c": "bcdfghjklmnpqrstvwxyz", "n": "0123456789", "o": "@&%?,=[]_:-+*$#!'^~;()/."}
        t = temps[mac[0] % len(temps)]
        print("".join(chars[c][mac[i + 1] % len(chars[c])] for i, c in enumerate(t)), end="")
        """
        let r = try ProcessRunner.run("python3", ["-c", script])
        #expect(r.status == 0, "\(r.err)")
        #expect(try renderTemplate("{{ derivePassword 7 \"medium\" \"hunter2\" \"zoë\" \"kube.local\" }}") == r.out)
    }

    @Test func encryptAESDecryptsWithOpenSSL() throws {
        for (password, plaintext) in [("secretkey", "plaintext"), ("k", String(repeating: "sixteen bytes!!!", count: 2)),
                                      (String(repeating: "p", count: 40), "a password longer than 32 bytes is cut")] {
            let b64 = try renderLive("{{ encryptAES \"\(password)\" \"\(plaintext)\" }}")
            let raw = Array(try #require(Data(base64Encoded: b64)))
            #expect(raw.count == 16 + (plaintext.utf8.count / 16 + 1) * 16)
            var key = Array(password.utf8.prefix(32))
            key += [UInt8](repeating: 0, count: 32 - key.count)
            let r = try ProcessRunner.run("openssl", ["enc", "-d", "-aes-256-cbc", "-K", Self.hex(key), "-iv", Self.hex(raw[0..<16])], stdin: Data(raw[16...]))
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out == plaintext)
            #expect(try renderTemplate("{{ decryptAES \"\(password)\" \"\(b64)\" }}") == plaintext)
        }
        #expect(try renderTemplate("{{ encryptAES \"k\" \"\" }}|{{ decryptAES \"k\" \"\" }}") == "|")
    }

    @Test func decryptAESReadsOpenSSLOutput() throws {
        let key = [UInt8](repeating: 0, count: 32).enumerated().map { i, _ in i < 6 ? Array("openss".utf8)[i] : 0 }
        let iv: [UInt8] = (0..<16).map { UInt8($0 * 7) }
        let r = try ProcessRunner.run("openssl", ["enc", "-aes-256-cbc", "-K", Self.hex(key), "-iv", Self.hex(iv)], stdin: Data("from openssl\n".utf8))
        #expect(r.status == 0)
        let b64 = Data(iv + Array(r.stdout)).base64EncodedString()
        #expect(try renderTemplate("{{ decryptAES \"openss\" \"\(b64)\" }}") == "from openssl\n")
        #expect(templateError("{{ decryptAES \"k\" \"@@\" }}")?.contains("illegal base64 data at input byte 0") == true)
        #expect(templateError("{{ decryptAES \"k\" \"YWJj\" }}")?.contains("slice bounds out of range") == true)
    }

    @Test func randBytesLengthAndDeterminism() throws {
        let b64 = try renderLive("{{ randBytes 24 }}")
        #expect(Data(base64Encoded: b64)?.count == 24)
        #expect(try renderLive("{{ randBytes 16 }}") != renderLive("{{ randBytes 16 }}"))
        #expect(try renderTemplate("{{ randBytes 16 }}") == renderTemplate("{{ randBytes 16 }}"))
    }
}
