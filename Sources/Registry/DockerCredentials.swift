import Foundation

/// Credentials read from a Docker `config.json` (`auths.<host>.auth` = base64 of `user:password`, or
/// `username`/`password` fields). Keys may be written as `host`, `https://host` or
/// `https://index.docker.io/v1/`; they are matched by host. Credential helpers (`credsStore`,
/// `credHelpers`) are not run.
public struct DockerCredentialStore: Sendable {
    /// host (as in an image reference, `docker.io` for Docker Hub) → credentials
    public let entries: [String: Credentials]
    /// The file read, if any.
    public let path: String?

    public init(entries: [String: Credentials], path: String? = nil) {
        self.entries = entries
        self.path = path
    }

    /// Loads `explicitPath`, or `$DOCKER_CONFIG/config.json`, or `~/.docker/config.json`. An explicit path
    /// that does not exist is an error; a missing default file means no credentials.
    public static func load(explicitPath: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DockerCredentialStore {
        if let explicitPath {
            guard FileManager.default.fileExists(atPath: explicitPath) else {
                throw RegistryError.invalidCredentialsFile(path: explicitPath, reason: "file not found")
            }
            return try parse(file: explicitPath)
        }
        var candidates: [String] = []
        if let dir = environment["DOCKER_CONFIG"], !dir.isEmpty { candidates.append(dir + "/config.json") }
        if let home = environment["HOME"], !home.isEmpty { candidates.append(home + "/.docker/config.json") }
        for c in candidates where FileManager.default.fileExists(atPath: c) { return try parse(file: c) }
        return DockerCredentialStore(entries: [:])
    }

    static func parse(file: String) throws -> DockerCredentialStore {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw RegistryError.invalidCredentialsFile(path: file, reason: "cannot read the file")
        }
        return try DockerCredentialStore(entries: parse(data: data, path: file), path: file)
    }

    /// Parses the JSON of a config.json; errors name the `auths` key at fault.
    public static func parse(data: Data, path: String) throws -> [String: Credentials] {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw RegistryError.invalidCredentialsFile(path: path, reason: "not a JSON object")
        }
        guard let auths = root["auths"] else { return [:] }
        guard let table = auths as? [String: Any] else {
            throw RegistryError.invalidCredentialsFile(path: path, reason: "\"auths\" is not an object")
        }
        var out: [String: Credentials] = [:]
        for (key, value) in table {
            guard let entry = value as? [String: Any] else {
                throw RegistryError.invalidCredentialsFile(path: path, reason: "auths.\(key) is not an object")
            }
            var creds: Credentials?
            if let auth = entry["auth"] as? String, !auth.isEmpty {
                guard let decoded = Data(base64Encoded: auth).map({ String(decoding: $0, as: UTF8.self) }),
                      let colon = decoded.firstIndex(of: ":") else {
                    throw RegistryError.invalidCredentialsFile(path: path, reason: "auths.\(key).auth is not base64 of user:password")
                }
                creds = Credentials(username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
            } else if let u = entry["username"] as? String, let p = entry["password"] as? String {
                creds = Credentials(username: u, password: p)
            }
            if let creds { out[normalizeHost(key)] = creds }
        }
        return out
    }

    /// `https://index.docker.io/v1/` → `docker.io`; `http://host:5000/v2/` → `host:5000`.
    public static func normalizeHost(_ key: String) -> String {
        var s = Substring(key)
        if let r = s.range(of: "://") { s = s[r.upperBound...] }
        if let slash = s.firstIndex(of: "/") { s = s[..<slash] }
        let host = String(s).lowercased()
        switch host {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return "docker.io"
        default: return host
        }
    }

    /// The credentials for a registry host as written in an image reference.
    public func credentials(for host: String) -> Credentials? {
        entries[Self.normalizeHost(host)]
    }
}
