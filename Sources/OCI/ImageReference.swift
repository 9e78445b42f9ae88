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
    public init(parsing text: String) throws {
        var s = Substring(text)
        if s.hasPrefix("oci://") { s = s.dropFirst(6) }
        func fail(_ why: String) -> OCIError { .invalidReference(text, reason: why) }
        guard !s.isEmpty else { throw fail("empty reference") }
        if s.utf8.count == 64, s.utf8.allSatisfy({ Self.isLowerHex($0) }) {
            throw fail("a 64-character hex string is an image ID, not a name")
        }

        var digest: Digest? = nil
        if let at = s.firstIndex(of: "@") {
            let d = String(s[s.index(after: at)...])
            s = s[..<at]
            do { digest = try Digest(d) } catch { throw fail("invalid digest \"\(d)\"") }
        }
        var tag: String? = nil
        let lastSlash = s.lastIndex(of: "/")
        let nameTail = lastSlash.map { s[s.index(after: $0)...] } ?? s
        if let colon = nameTail.lastIndex(of: ":") {
            let t = String(nameTail[nameTail.index(after: colon)...])
            guard Self.isValidTag(t) else { throw fail("invalid tag \"\(t)\"") }
            tag = t
            s = s[..<colon]
        }
        guard !s.isEmpty else { throw fail("missing repository name") }

        var registry = "docker.io"
        var path = String(s)
        if let slash = s.firstIndex(of: "/") {
            let first = String(s[..<slash])
            if first.contains(".") || first.contains(":") || first == "localhost" || first.lowercased() != first {
                registry = first
                path = String(s[s.index(after: slash)...])
            }
        }
        if registry == "index.docker.io" { registry = "docker.io" }
        guard Self.isValidDomain(registry) else { throw fail("invalid registry host \"\(registry)\"") }
        if registry == "docker.io" && !path.contains("/") { path = "library/" + path }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { throw fail("empty path component") }
            if component.contains(where: { $0.isUppercase }) { throw fail("repository name must be lowercase") }
            guard Self.isValidPathComponent(component) else { throw fail("invalid path component \"\(component)\"") }
        }
        guard registry.count + 1 + path.count <= 255 else { throw fail("repository name longer than 255 characters") }
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
    static func isAlnumLower(_ c: Character) -> Bool { ("a"..."z").contains(c) || ("0"..."9").contains(c) }

    static func isValidTag(_ t: String) -> Bool {
        guard let first = t.first, t.count <= 128 else { return false }
        func word(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_") }
        return word(first) && t.dropFirst().allSatisfy { word($0) || $0 == "." || $0 == "-" }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
    static func isValidPathComponent(_ c: Substring) -> Bool {
        let chars = Array(c)
        guard let f = chars.first, let l = chars.last, isAlnumLower(f), isAlnumLower(l) else { return false }
        var i = 0
        while i < chars.count {
            if isAlnumLower(chars[i]) { i += 1; continue }
            var j = i
            while j < chars.count && !isAlnumLower(chars[j]) { j += 1 }
            let sep = String(chars[i..<j])
            guard sep == "." || sep == "_" || sep == "__" || (!sep.isEmpty && sep.allSatisfy { $0 == "-" }) else { return false }
            i = j
        }
        return true
    }

    static func isValidDomain(_ d: String) -> Bool {
        var host = Substring(d)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let rest = host[host.index(after: close)...]
            if !rest.isEmpty { guard rest.hasPrefix(":"), !rest.dropFirst().isEmpty, rest.dropFirst().allSatisfy(\.isNumber) else { return false } }
            return host[host.index(after: host.startIndex)..<close].allSatisfy { $0.isHexDigit || $0 == ":" }
        }
        if let colon = host.lastIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            host = host[..<colon]
        }
        for label in host.split(separator: ".", omittingEmptySubsequences: false) {
            guard let f = label.first, let l = label.last, f.isASCII, l.isASCII,
                  f.isLetter || f.isNumber, l.isLetter || l.isNumber,
                  label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else { return false }
        }
        return true
    }
}
