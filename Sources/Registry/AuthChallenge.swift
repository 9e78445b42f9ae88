/// A parsed `WWW-Authenticate` challenge (`Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`).
/// Pure parsing, kept apart from the HTTP code so it is tested on its own.
public struct AuthChallenge: Sendable, Equatable {
    public enum Scheme: String, Sendable { case basic, bearer }
    public let scheme: Scheme
    public let parameters: [String: String]

    public var realm: String? { parameters["realm"] }
    public var service: String? { parameters["service"] }
    /// Scopes the registry asked for (space-separated in the header).
    public var scopes: [String] { parameters["scope"].map { $0.split(separator: " ").map(String.init) } ?? [] }

    public init(scheme: Scheme, parameters: [String: String]) {
        self.scheme = scheme
        self.parameters = parameters
    }

    /// Parses one header value; nil when the scheme is neither Basic nor Bearer.
    public init?(header: String) {
        let trimmed = header.drop(while: { $0 == " " })
        let schemeEnd = trimmed.firstIndex(of: " ") ?? trimmed.endIndex
        switch trimmed[..<schemeEnd].lowercased() {
        case "basic": scheme = .basic
        case "bearer": scheme = .bearer
        default: return nil
        }
        parameters = Self.parseParameters(trimmed[schemeEnd...])
    }

    /// `key=value` or `key="quoted, value"` pairs separated by commas; keys lowercased.
    static func parseParameters(_ s: Substring) -> [String: String] {
        var out: [String: String] = [:]
        var chars = Array(s)[...]
        func skipSeparators() { while let c = chars.first, c == " " || c == "," || c == "\t" { chars = chars.dropFirst() } }
        while true {
            skipSeparators()
            guard !chars.isEmpty else { break }
            var key = ""
            while let c = chars.first, c != "=" && c != "," { key.append(c); chars = chars.dropFirst() }
            guard chars.first == "=" else { continue }
            chars = chars.dropFirst()
            var value = ""
            if chars.first == "\"" {
                chars = chars.dropFirst()
                while let c = chars.first {
                    chars = chars.dropFirst()
                    if c == "\\", let n = chars.first { value.append(n); chars = chars.dropFirst(); continue }
                    if c == "\"" { break }
                    value.append(c)
                }
            } else {
                while let c = chars.first, c != "," { value.append(c); chars = chars.dropFirst() }
                value = value.trimmingSpaces()
            }
            out[key.trimmingSpaces().lowercased()] = value
        }
        return out
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
