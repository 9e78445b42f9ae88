import Crypto
import _CryptoExtras
import Foundation

/// Sprig's password and secret functions: bcrypt, htpasswd, derivePassword (the Master Password
/// algorithm), encryptAES/decryptAES (AES-256-CBC, IV first, base64). Salts and IVs come from the
/// template's random source, so output is reproducible under the deterministic flag.
enum SprigSecrets {
    static func register(_ f: inout [String: FunctionSpec]) {
        f["bcrypt"] = FunctionSpec(1, 1) { ctx, a in .string(bcrypt(try Arg2.string(a[0]), ctx: ctx)) }
        f["htpasswd"] = FunctionSpec(2, 2) { ctx, a in
            let user = try Arg2.string(a[0]), password = try Arg2.string(a[1])
            if user.contains(":") { return .string("invalid username: \(user)") }
            return .string("\(user):\(bcrypt(password, ctx: ctx))")
        }
        f.add("derivePassword", 5) { a in
            let counter: UInt32
            switch a[0] {
            case .int(let i) where i >= 0 && i <= Int(UInt32.max): counter = UInt32(i)
            case .int(let i): throw GoTypeError("invalid value; expected uint32; got \(i)")
            default: throw GoTypeError("wrong type for value; expected uint32; got \(a[0].goType)")
            }
            return .string(try derivePassword(counter: counter, type: try Arg2.string(a[1]), password: try Arg2.string(a[2]),
                user: try Arg2.string(a[3]), site: try Arg2.string(a[4])))
        }
        f["encryptAES"] = FunctionSpec(2, 2) { ctx, a in
            let password = try Arg2.string(a[0]), plaintext = try Arg2.string(a[1])
            return .string(try encryptAES(password: password, plaintext: plaintext, iv: ctx.randomBytes(16)))
        }
        f.add("decryptAES", 2) { a in .string(try decryptAES(password: try Arg2.string(a[0]), base64: try Arg2.string(a[1]))) }
    }

    // MARK: bcrypt (golang.org/x/crypto/bcrypt, DefaultCost 10, "$2a$")

    static func bcrypt(_ password: String, ctx: CallContext) -> String {
        do {
            return try LibCrypt.bcrypt(password: Array(password.utf8), salt: ctx.randomBytes(16), cost: 10)
        } catch {
            return "failed to encrypt string with bcrypt: \(error)"
        }
    }

    // MARK: derivePassword (Master Password: scrypt N=32768 r=8 p=2, HMAC-SHA256, templates)

    static let seed = "com.lyndir.masterpassword"
    static let templates: [String: [String]] = [
        "maximum": ["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long": ["CvcvnoCvcvCvcv", "CvcvCvcvnoCvcv", "CvcvCvcvCvcvno", "CvccnoCvcvCvcv", "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno", "CvcvnoCvccCvcv", "CvcvCvccnoCvcv", "CvcvCvccCvcvno", "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc", "CvcvCvcvCvccno", "CvccnoCvccCvcv", "CvccCvccnoCvcv", "CvccCvccCvcvno",
            "CvcvnoCvccCvcc", "CvcvCvccnoCvcc", "CvcvCvccCvccno", "CvccnoCvcvCvcc", "CvccCvcvnoCvcc", "CvccCvcvCvccno"],
        "medium": ["CvcnoCvc", "CvcCvcno"],
        "short": ["Cvcn"],
        "basic": ["aaanaaan", "aannaaan", "aaannaaa"],
        "pin": ["nnnn"],
    ]
    static let characters: [Character: [UInt8]] = [
        "V": Array("AEIOU".utf8),
        "C": Array("BCDFGHJKLMNPQRSTVWXYZ".utf8),
        "v": Array("aeiou".utf8),
        "c": Array("bcdfghjklmnpqrstvwxyz".utf8),
        "A": Array("AEIOUBCDFGHJKLMNPQRSTVWXYZ".utf8),
        "a": Array("AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz".utf8),
        "n": Array("0123456789".utf8),
        "o": Array("@&%?,=[]_:-+*$#!'^~;()/.".utf8),
        "x": Array("AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()".utf8),
    ]

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }

    static func derivePassword(counter: UInt32, type: String, password: String, user: String, site: String) throws -> String {
        guard let temps = templates[type] else { return "cannot find password template \(type)" }
        let salt = Array(seed.utf8) + bigEndian(UInt32(user.utf8.count)) + Array(user.utf8)
        let key: SymmetricKey
        do {
            key = try KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: 64,
                rounds: 32768, blockSize: 8, parallelism: 2, maxMemory: 80 << 20)
        } catch {
            return "failed to derive password: \(error)"
        }
        let message = Array(seed.utf8) + bigEndian(UInt32(site.utf8.count)) + Array(site.utf8) + bigEndian(counter)
        let mac = Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
        let temp = Array(temps[Int(mac[0]) % temps.count])
        var out: [UInt8] = []
        for (i, c) in temp.enumerated() {
            let chars = characters[c]!
            out.append(chars[Int(mac[i + 1]) % chars.count])
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: AES-256-CBC

    static func aesKey(_ password: String) -> SymmetricKey {
        var key = [UInt8](repeating: 0, count: 32)
        for (i, b) in password.utf8.prefix(32).enumerated() { key[i] = b }
        return SymmetricKey(data: key)
    }

    static func encryptAES(password: String, plaintext: String, iv: [UInt8]) throws -> String {
        if plaintext.isEmpty { return "" }
        var content = Array(plaintext.utf8)
        let pad = 16 - content.count % 16
        content += [UInt8](repeating: UInt8(pad), count: pad)
        let sealed = try AES._CBC.encrypt(content, using: aesKey(password), iv: try AES._CBC.IV(ivBytes: iv), noPadding: true)
        return Data(iv + Array(sealed)).base64EncodedString()
    }

    static func decryptAES(password: String, base64: String) throws -> String {
        if base64.isEmpty { return "" }
        guard let data = Data(base64Encoded: base64) else {
            throw FunctionError("illegal base64 data at input byte \(SprigMisc.firstBadBase64(base64))")
        }
        let crypt = Array(data)
        guard crypt.count >= 16 else { throw FunctionError("runtime error: slice bounds out of range [:16] with capacity \(crypt.count)") }
        let body = Array(crypt[16...])
        guard body.count % 16 == 0 else { throw FunctionError("crypto/cipher: input not full blocks") }
        guard !body.isEmpty else { throw FunctionError("runtime error: index out of range [-1]") }
        let plain = Array(try AES._CBC.decrypt(body, using: aesKey(password), iv: try AES._CBC.IV(ivBytes: crypt[0..<16]), noPadding: true))
        let pad = Int(plain[plain.count - 1])
        guard pad <= plain.count else { throw FunctionError("runtime error: slice bounds out of range [:\(plain.count - pad)]") }
        return String(decoding: plain[..<(plain.count - pad)], as: UTF8.self)
    }
}

/// bcrypt through Debian's libcrypt (libxcrypt's `$2a$` implementation), loaded at run time so the
/// package needs no header: the one system C library that ships bcrypt.
enum LibCrypt {
    struct Failure: Error, CustomStringConvertible { let description: String }

    private typealias GenSalt = @convention(c) (UnsafePointer<CChar>?, UInt, UnsafePointer<CChar>?, Int32, UnsafeMutablePointer<CChar>?, Int32) -> UnsafeMutablePointer<CChar>?
    private typealias CryptRN = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, Int32) -> UnsafeMutablePointer<CChar>?

    private struct Symbols: @unchecked Sendable {
        let gensalt: GenSalt
        let crypt: CryptRN
    }

    private static let symbols: Symbols? = {
        for name in ["libcrypt.so.1", "libcrypt.so.2", "libcrypt.so"] {
            guard let h = dlopen(name, RTLD_NOW) else { continue }
            guard let g = dlsym(h, "crypt_gensalt_rn"), let c = dlsym(h, "crypt_rn") else { continue }
            return Symbols(gensalt: unsafeBitCast(g, to: GenSalt.self), crypt: unsafeBitCast(c, to: CryptRN.self))
        }
        return nil
    }()

    /// `$2a$COST$` hash of `password` with a 16-byte salt; Go's limit of 72 bytes applies.
    static func bcrypt(password: [UInt8], salt: [UInt8], cost: Int) throws -> String {
        if password.count > 72 { throw Failure(description: "bcrypt: password length exceeds 72 bytes") }
        guard let s = symbols else { throw Failure(description: "bcrypt needs libcrypt.so.1 (Debian's libcrypt1)") }
        var setting = [CChar](repeating: 0, count: 128)
        let ok = salt.withUnsafeBufferPointer { sb in
            sb.baseAddress!.withMemoryRebound(to: CChar.self, capacity: sb.count) { sp in
                s.gensalt("$2a$", UInt(cost), sp, Int32(sb.count), &setting, Int32(setting.count))
            }
        }
        guard ok != nil else { throw Failure(description: "crypt_gensalt failed (errno \(errno))") }
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { scratch.deallocate() }
        memset(scratch, 0, 1 << 16)
        let phrase = password.map { CChar(bitPattern: $0) } + [0]
        guard let out = s.crypt(phrase, setting, scratch, 1 << 16) else { throw Failure(description: "crypt failed (errno \(errno))") }
        let hash = String(cString: out)
        guard hash.hasPrefix("$2a$") else { throw Failure(description: "crypt returned an unexpected hash") }
        return hash
    }
}
