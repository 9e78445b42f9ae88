import Crypto
import Foundation

/// Facts of Zarf's package layout: entry names, the package file name rule, checksums.txt and the
/// aggregate checksum.
public enum PackageLayout {
    public static let zarfYAML = "zarf.yaml"
    public static let checksums = "checksums.txt"
    public static let signature = "zarf.yaml.sig"
    public static let bundleSignature = "zarf.bundle.sig"
    public static let imagesDirectory = "images"
    public static let componentsDirectory = "components"
    public static let sbomsTar = "sboms.tar"
    public static let documentationTar = "documentation.tar"

    /// Files that checksums.txt does not list.
    public static let unlistedFiles: Set<String> = [zarfYAML, checksums, signature, bundleSignature]

    /// `zarf-package-<name>-<arch>[-<version>][-<flavor>].tar.zst`, `zarf-init-<arch>-<version>.tar.zst`;
    /// `.tar` when `metadata.uncompressed`.
    public static func fileName(for pkg: ZarfPackage) -> String {
        let arch = pkg.build?.architecture ?? pkg.metadata?.architecture ?? "unknown"
        var name = pkg.isInit ? "zarf-init-\(arch)" : "zarf-package-\(pkg.metadata?.name ?? "unnamed")-\(arch)"
        if pkg.build?.differential == true, let dv = pkg.build?.differentialPackageVersion {
            name += "-\(dv)-differential-\(pkg.metadata?.version ?? "")"
        } else if let v = pkg.metadata?.version, !v.isEmpty {
            name += "-\(v)"
        }
        if let f = pkg.build?.flavor, !f.isEmpty { name += "-\(f)" }
        return name + (pkg.metadata?.uncompressed == true ? ".tar" : ".tar.zst")
    }

    /// checksums.txt text: `<sha256hex> <path>` lines sorted as whole strings, `\n` after each.
    public static func checksumsText(_ entries: [(path: String, sha256: String)]) -> String {
        entries.map { "\($0.sha256) \($0.path)" }.sorted().map { $0 + "\n" }.joined()
    }

    /// Parses checksums.txt into path → hex, refusing malformed lines, duplicates and unsafe paths.
    public static func parseChecksums(_ text: String, context: String = checksums) throws -> [String: String] {
        var out: [String: String] = [:]
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0].count == 64, parts[0].allSatisfy({ $0.isHexDigit && !$0.isUppercase }),
                  !parts[1].isEmpty else {
                throw PackagingError.malformedPackage(path: "\(context):\(i + 1)", message: "malformed line \"\(line.prefix(120))\" (expected \"<sha256hex> <path>\")")
            }
            let path = String(parts[1])
            guard isSafeEntryPath(path) else { throw PackagingError.unsafeName(path, context: "\(context):\(i + 1)") }
            guard out[path] == nil else {
                throw PackagingError.malformedPackage(path: "\(context):\(i + 1)", message: "\(path) is listed twice")
            }
            out[path] = String(parts[0])
        }
        return out
    }

    /// A relative path with no `..`, `.`, empty or backslash components.
    public static func isSafeEntryPath(_ path: String) -> Bool {
        if path.isEmpty || path.hasPrefix("/") || path.contains("\\") || path.contains("\0") { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { $0 != ".." && $0 != "." && !$0.isEmpty }
    }

    /// Hex SHA-256 of data.
    public static func sha256Hex(_ data: some DataProtocol) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

}
