import Foundation

/// Zarf's naming rules for images and git repositories inside an air-gapped cluster.
///
/// Outpost must name things exactly as Zarf does so existing Zarf clusters and Outpost clusters agree
/// (facts in ../shared/reference/zarf-compat.md).
public enum ZarfTransform {
    /// The image reference as pushed to / pulled from the internal registry `targetHost`:
    /// unchanged if already there; `<target>/<path>@<digest>` when pinned;
    /// otherwise `<target>/<path>:<tag>-zarf-<crc32 of registry/path>`.
    public static func image(_ reference: String, targetHost: String) throws -> String {
        let ref = try ImageReference(parsing: reference)
        return image(ref, targetHost: targetHost)
    }

    public static func image(_ ref: ImageReference, targetHost: String) -> String {
        if ref.registry == targetHost { return ref.normalized }
        // `normalized` starts with the registry, so it can start with the target only when one of the two
        // starts with the other; only then is it built to compare.
        let (registry, target) = (ref.registry.utf8, targetHost.utf8)
        if registry.starts(with: target) || target.starts(with: registry), ref.normalized.hasPrefix(targetHost + "/") {
            return ref.normalized
        }
        if let d = ref.digest { return "\(targetHost)/\(ref.repository)@\(d)" }
        // Built into one allocation: the webhook names every container image of every pod this way.
        let tag = ref.effectiveTag ?? "latest", crc = String(CRC32.checksum(name: ref))
        var out = ""
        out.reserveCapacity(targetHost.utf8.count + ref.repository.utf8.count + tag.utf8.count + crc.utf8.count + 8)
        for part in [targetHost, "/", ref.repository, ":", tag, "-zarf-", crc] { out += part }
        return out
    }

    /// The plain-tag form also pushed: `<target>/<path>:<tag>` (or `@digest`).
    public static func imagePlainTag(_ ref: ImageReference, targetHost: String) -> String {
        if let d = ref.digest { return "\(targetHost)/\(ref.repository)@\(d)" }
        return "\(targetHost)/\(ref.repository):\(ref.effectiveTag ?? "latest")"
    }

    /// The pieces of a git URL as Zarf splits it.
    public struct GitURL: Sendable, Equatable {
        public let scheme: String      // "https://"
        public let hostPath: String    // "github.com/zarf-dev"
        public let repo: String        // "zarf"
        public let gitSuffix: String   // ".git" or ""
        public let atRef: String       // "@v1.0" or ""
        public let ref: String         // "v1.0" or ""
        public let gitPath: String     // "/info/refs…", "/git-upload-pack" or ""
    }

    /// Splits a git URL: `scheme://hostPath/repo[.git][/][@[+]ref][/info/…|/git-upload-pack|/git-receive-pack]`.
    public static func parseGitURL(_ url: String) throws -> GitURL {
        let pattern = #"^([a-z]+://)(.+?)/([0-9A-Za-z_\-.]+?)?(\.git)?(/)?(@(\+)?([/+0-9A-Za-z_\-.]+))?(/(info/.*|git-upload-pack|git-receive-pack))?$"#
        let re = try NSRegularExpression(pattern: pattern)
        let ns = url as NSString
        guard let m = re.firstMatch(in: url, range: NSRange(location: 0, length: ns.length)) else {
            throw OCIError.invalidGitURL(url)
        }
        func g(_ i: Int) -> String {
            let r = m.range(at: i)
            return r.location == NSNotFound ? "" : ns.substring(with: r)
        }
        return GitURL(scheme: g(1), hostPath: g(2), repo: g(3), gitSuffix: g(4), atRef: g(6), ref: g(8), gitPath: g(9))
    }

    /// The mirror repository name: `<repo>-<crc32 of "hostPath/repo">`.
    public static func gitRepoName(_ url: String) throws -> String {
        let u = try parseGitURL(url)
        return "\(u.repo)-\(CRC32.checksum("\(u.hostPath)/\(u.repo)"))"
    }

    /// The folder a repository is stored under inside a package: `<repo>-<crc32 of the URL with ref>`.
    public static func gitFolderName(_ url: String) throws -> String {
        let u = try parseGitURL(url)
        return "\(u.repo)-\(CRC32.checksum(u.scheme + u.hostPath + "/" + u.repo + u.gitSuffix + u.atRef))"
    }

    /// The mirror URL on the internal git server: `<server>/<user>/<repo>-<crc>[.git][gitPath]`.
    public static func gitURL(_ url: String, server: String, user: String) throws -> String {
        let u = try parseGitURL(url)
        let name = try gitRepoName(url)
        let base = server.hasSuffix("/") ? String(server.dropLast()) : server
        return "\(base)/\(user)/\(name)\(u.gitSuffix)\(u.gitPath)"
    }
}
