import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as raw bytes, parsed strictly (what Talos's config schema accepts).
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]
    public let text: String
    public var isIPv4: Bool { bytes.count == 4 }

    public init?(_ text: String) {
        var v4 = in_addr(), v6 = in6_addr()
        if text.contains(":") {
            guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            guard inet_pton(AF_INET, text, &v4) == 1 else { return nil }
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        }
        self.text = text
    }

    public var description: String { text }
}

/// An address with a prefix length, e.g. `10.20.0.11/24` (an interface address) or `10.244.0.0/16` (a subnet).
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let length: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let addr = IPAddress(String(parts[0])), let len = Int(parts[1]),
              String(len) == parts[1], len >= 0, len <= addr.bytes.count * 8 else { return nil }
        address = addr; length = len
    }

    public var description: String { "\(address)/\(length)" }

    /// True when no host bits are set (a network, as subnets must be written).
    public var isNetwork: Bool { masked(address.bytes) == address.bytes }

    /// True when `other` lies inside this prefix (same family).
    public func contains(_ other: IPAddress) -> Bool {
        other.bytes.count == address.bytes.count && masked(other.bytes) == masked(address.bytes)
    }

    /// True when the two prefixes share any address.
    public func overlaps(_ other: IPPrefix) -> Bool {
        guard other.address.bytes.count == address.bytes.count else { return false }
        let shorter = length <= other.length ? self : other
        let longer = length <= other.length ? other : self
        return shorter.contains(longer.address)
    }

    /// The network prefix of this address, e.g. `10.20.0.0/24` for `10.20.0.11/24`.
    public var network: String {
        let b = masked(address.bytes)
        if b.count == 4 { return b.map(String.init).joined(separator: ".") + "/\(length)" }
        var a = in6_addr()
        withUnsafeMutableBytes(of: &a) { for i in 0..<16 { $0[i] = b[i] } }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/\(length)"
    }

    private func masked(_ bytes: [UInt8]) -> [UInt8] {
        bytes.enumerated().map { i, b in
            let bits = max(0, min(8, length - i * 8))
            return bits == 8 ? b : b & UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
        }
    }
}

/// A 48-bit Ethernet hardware address written as six colon-separated hex pairs.
public struct MACAddress: Sendable, Hashable, CustomStringConvertible {
    /// Lower-case canonical form, as Linux reports `permanent_addr`.
    public let text: String

    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && UInt8($0, radix: 16) != nil }) else { return nil }
        self.text = text.lowercased()
    }

    public var description: String { text }
}
