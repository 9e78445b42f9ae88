import Crypto
import Foundation

/// A content digest (`sha256:<hex>`): the identity of every blob, manifest and index.
public struct Digest: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let algorithm: String
    public let hex: String

    public init(_ string: String) throws {
        guard let colon = string.utf8.firstIndex(of: UInt8(ascii: ":")) else { throw OCIError.invalidDigest(string) }
        let algo = String(string[..<colon]), hex = String(string[string.utf8.index(after: colon)...])
        guard algo == "sha256", hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
        else { throw OCIError.invalidDigest(string) }
        self.algorithm = algo
        self.hex = hex
    }

    public init(sha256Hex hex: String) throws { try self.init("sha256:" + hex) }

    /// The SHA-256 digest of `data`.
    public static func sha256(_ data: some DataProtocol) -> Digest {
        Digest(unchecked: SHA256.hash(data: data).hexString)
    }

    init(unchecked hex: String) { self.algorithm = "sha256"; self.hex = hex }

    public var description: String { "\(algorithm):\(hex)" }
    public static func < (a: Digest, b: Digest) -> Bool { a.description < b.description }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        try self.init(s)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hex of the bytes.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in self { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xf)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Incremental SHA-256 over a stream of chunks, for hashing blobs as they are written.
public struct StreamingDigester: Sendable {
    private var hasher = SHA256()
    public private(set) var count: Int64 = 0
    public init() {}
    public mutating func update(_ data: some DataProtocol) { hasher.update(data: data); count += Int64(data.count) }
    public mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bufferPointer); count += Int64(bufferPointer.count)
    }
    public func finalize() -> Digest { Digest(unchecked: hasher.finalize().hexString) }
}
