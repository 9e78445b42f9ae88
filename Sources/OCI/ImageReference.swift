/// An image reference parsed and normalised with the Docker reference grammar
/// (`nginx` → `docker.io/library/nginx:latest`; `host:port/path:tag@digest`; an `oci://` prefix is ignored).
///
/// Every place that names an image (package definitions, pushes, the webhook, the injector payload)
/// goes through this type so that they agree on names.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible {
    /// Registry host, with port if any (`docker.io`, `127.0.0.1:5000`).
    public let registry: String
    /// Repository path inside the registry (`library/nginx`).
    public let repository: String
    /// Tag, if given (no default is filled in here; see `normalized`).
    public let tag: String?
    /// Digest, if given.
    public let digest: Digest?

    public init(registry: String, repository: String, tag: String?, digest: Digest?) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// Parses `text`, normalising Docker Hub names. Throws `OCIError.invalidReference` naming the reason.
    ///
    /// Works on the UTF-8 bytes (every delimiter of the grammar is ASCII): the admission webhook parses
    /// every container image of every pod, and Character-level scanning was most of its cost per request.
    public init(parsing text: String) throws {
        func fail(_ why: String) -> OCIError { .invalidReference(text, reason: why) }
        func string(_ b: ArraySlice<UInt8>) -> String { String(decoding: b, as: UTF8.self) }
        let bytes = Array(text.utf8)
        var lo = 0, hi = bytes.count
        if bytes.starts(with: "oci://".utf8) { lo = 6 }
        guard lo < hi else { throw fail("empty reference") }
        if hi - lo == 64, bytes[lo..<hi].allSatisfy({ Self.isLowerHex($0) }) {
            throw fail("a 64-character hex string is an image ID, not a name")
        }

        var digest: Digest? = nil
        if let at = bytes[lo..<hi].firstIndex(of: UInt8(ascii: "@")) {
            let d = string(bytes[(at + 1)..<hi])
            hi = at
            do { digest = try Digest(d) } catch { throw fail("invalid digest \"\(d)\"") }
        }
        var tag: String? = nil
        let tailStart = bytes[lo..<hi].lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? lo
        if let colon = bytes[tailStart..<hi].lastIndex(of: UInt8(ascii: ":")) {
            let t = bytes[(colon + 1)..<hi]
            guard Self.isValidTag(t) else { throw fail("invalid tag \"\(string(t))\"") }
            tag = string(t)
            hi = colon
        }
        guard lo < hi else { throw fail("missing repository name") }

        var registry = "docker.io"
        var pathStart = lo
        if let slash = bytes[lo..<hi].firstIndex(of: UInt8(ascii: "/")) {
            let first = bytes[lo..<slash]
            let firstString = string(first)
            if first.contains(UInt8(ascii: ".")) || first.contains(UInt8(ascii: ":")) || firstString == "localhost"
                || Self.hasUppercase(first, firstString) {
                registry = firstString
                pathStart = slash + 1
            }
        }
        if registry == "index.docker.io" { registry = "docker.io" }
        guard Self.isValidDomain(registry) else { throw fail("invalid registry host \"\(registry)\"") }
        let pathBytes = bytes[pathStart..<hi]
        var path = string(pathBytes)
        if registry == "docker.io" && !pathBytes.contains(UInt8(ascii: "/")) { path = "library/" + path }
        // The components of the path, checked in place ("library", when added, is valid).
        var start = pathBytes.startIndex
        while true {
            let end = pathBytes[start...].firstIndex(of: UInt8(ascii: "/")) ?? pathBytes.endIndex
            let component = pathBytes[start..<end]
            if component.isEmpty { throw fail("empty path component") }
            if Self.hasUppercase(component, string(component)) { throw fail("repository name must be lowercase") }
            guard Self.isValidPathComponent(component) else { throw fail("invalid path component \"\(string(component))\"") }
            guard end < pathBytes.endIndex else { break }
            start = end + 1
        }
        // Past the checks every byte is ASCII, so bytes count characters.
        guard registry.utf8.count + 1 + path.utf8.count <= 255 else { throw fail("repository name longer than 255 characters") }
        self.init(registry: registry, repository: path, tag: tag, digest: digest)
    }

    /// `registry/repository` without tag or digest.
    public var name: String { "\(registry)/\(repository)" }

    /// The tag, or `latest` when neither tag nor digest was given.
    public var effectiveTag: String? { tag ?? (digest == nil ? "latest" : nil) }

    /// The fully normalised form: `docker.io/library/nginx:latest`, `host/path:tag@sha256:…`.
    public var normalized: String {
        var out = name
        if let t = effectiveTag { out += ":" + t }
        if let d = digest { out += "@" + d.description }
        return out
    }

    public var description: String { normalized }

    /// The reference to ask a registry for: the digest if pinned, else the tag.
    public var manifestReference: String { digest?.description ?? effectiveTag ?? "latest" }

    /// `path:tag` with no host (the seed-payload annotation form).
    public var pathAndTag: String { repository + ":" + (effectiveTag ?? "latest") }

    /// The same image in another registry (for `--registry-override` and pushes).
    public func withRegistry(_ host: String) -> ImageReference {
        ImageReference(registry: host, repository: repository, tag: tag, digest: digest)
    }

    /// Whether the host is a loopback address, where plain HTTP is allowed by default.
    public var isLoopbackRegistry: Bool {
        let host = registry.hasPrefix("[") ? String(registry.prefix(while: { $0 != "]" }).dropFirst()) :
            String(registry.split(separator: ":").first ?? "")
        return host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }

    // MARK: grammar pieces

    static func isLowerHex(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 97 && c <= 102) }
    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    static func isAlnumLower(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || isDigit(c) }
    static func isAlnum(_ c: UInt8) -> Bool { isAlnumLower(c) || (c >= 65 && c <= 90) }

    /// Whether `text` (whose UTF-8 is `bytes`) has an uppercase letter; bytes decide for ASCII text.
    static func hasUppercase<Bytes: Collection<UInt8>>(_ bytes: Bytes, _ text: @autoclosure () -> String) -> Bool {
        if bytes.contains(where: { $0 >= 65 && $0 <= 90 }) { return true }
        guard bytes.contains(where: { $0 >= 0x80 }) else { return false }
        return text().contains(where: \.isUppercase)
    }

    /// `[\w][\w.-]{0,127}`
    static func isValidTag<Bytes: Collection<UInt8>>(_ t: Bytes) -> Bool {
        func word(_ c: UInt8) -> Bool { isAlnum(c) || c == UInt8(ascii: "_") }
        guard let first = t.first, t.count <= 128, word(first) else { return false }
        return t.dropFirst().allSatisfy { word($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
    static func isValidPathComponent<Bytes: BidirectionalCollection<UInt8>>(_ c: Bytes) -> Bool {
        guard let f = c.first, let l = c.last, isAlnumLower(f), isAlnumLower(l) else { return false }
        // Between alphanumeric runs: ".", "_", "__" or one or more "-" (first and last are alphanumeric).
        var separator: (byte: UInt8, count: Int)? = nil
        for b in c {
            if isAlnumLower(b) {
                if let (byte, count) = separator {
                    switch byte {
                    case UInt8(ascii: "."): guard count == 1 else { return false }
                    case UInt8(ascii: "_"): guard count <= 2 else { return false }
                    default: break  // "-", any number
                    }
                    separator = nil
                }
                continue
            }
            guard b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") else { return false }
            if let (byte, count) = separator {
                guard byte == b else { return false }
                separator = (byte, count + 1)
            } else {
                separator = (b, 1)
            }
        }
        return true
    }

    static func isValidDomain(_ d: String) -> Bool {
        let b = d.utf8
        if b.first == UInt8(ascii: "[") {
            guard let close = b.firstIndex(of: UInt8(ascii: "]")) else { return false }
            let rest = b[b.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == UInt8(ascii: ":"), rest.count > 1, rest.dropFirst().allSatisfy(isDigit) else { return false }
            }
            return b[b.index(after: b.startIndex)..<close].allSatisfy { isLowerHex($0) || ($0 >= 65 && $0 <= 70) || $0 == UInt8(ascii: ":") }
        }
        var hostEnd = b.endIndex
        if let colon = b.lastIndex(of: UInt8(ascii: ":")) {
            let port = b[b.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy(isDigit) else { return false }
            hostEnd = colon
        }
        // Labels separated by ".": alphanumeric at both ends, "-" allowed inside.
        var previous: UInt8 = UInt8(ascii: ".")
        for c in b[..<hostEnd] {
            if c == UInt8(ascii: ".") {
                guard isAlnum(previous) else { return false }
            } else if c == UInt8(ascii: "-") {
                guard previous != UInt8(ascii: ".") else { return false }
            } else {
                guard isAlnum(c) else { return false }
            }
            previous = c
        }
        return isAlnum(previous)
    }
}
