import Archiving
import Crypto
import Foundation
import OCI
import Yams

/// What reading a package found: its definition, every entry's SHA-256, the small blobs needed to
/// describe the images, and the outcome of the integrity and signature checks.
public struct PackageContents: Sendable {
    /// One regular file of the archive.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let size: Int64
        public let sha256: String
    }

    public let path: String
    public let entries: [Entry]
    public let zarfYAML: Data
    public let package: ZarfPackage
    public let checksumsText: Data?
    public let signature: Data?
    /// images/index.json, if present and parseable.
    public let imageIndex: ImageIndex?
    /// Small blobs (manifests, configs) by hex digest, for describing images.
    public let smallBlobs: [String: Data]
    /// The split record when the package came in parts.
    public let split: SplitPackage.Record?
    /// The first integrity failure (aggregate checksum, a file's checksum, a missing or unlisted file), or nil.
    public let integrityError: PackagingError?
    /// nil: no key was given; true: verified (a failed check throws or is in `signatureError`).
    public let signatureVerified: Bool?
    public let signatureError: PackagingError?
}

/// Opens a package archive (whole, or split: `.part000` plus parts, checked and read in place) and
/// streams through it once, hashing every entry, with the checks Zarf's loader makes: the aggregate
/// checksum against checksums.txt, every listed file's checksum, no listed file missing, no file
/// unlisted, safe entry names, and safe package, component, chart and manifest names.
public enum PackageReader {
    static let smallBlobLimit = 512 * 1024
    static let smallBlobBudget = 64 << 20

    /// Reads and checks `path`. Archive-level damage (not a tar, truncated, unsafe names, no zarf.yaml)
    /// throws; checksum and signature problems are reported in the result (use `verify` to throw).
    public static func read(path: String, publicKeyPath: String? = nil) throws -> PackageContents {
        var split: SplitPackage.Record?
        let reader: TarReader
        if SplitPackage.isSplit(path) {
            let (record, parts) = try SplitPackage.verifyParts(part000: path)
            split = record
            reader = try mapArchiveErrors(path) { try TarReader(paths: parts) }
        } else {
            guard FileManager.default.fileExists(atPath: path) else {
                throw PackagingError.io(path: path, message: "no such package file")
            }
            reader = try mapArchiveErrors(path) { try TarReader(path: path) }
        }

        var entries: [PackageContents.Entry] = []
        var zarfYAML: Data?, checksums: Data?, signature: Data?, indexData: Data?
        var small: [String: Data] = [:]
        var budget = smallBlobBudget
        var seen = Set<String>()
        while let e = try mapArchiveErrors(path, { try reader.next() }) {
            var name = e.name
            while name.hasPrefix("./") { name.removeFirst(2) }
            if name.hasSuffix("/") { name.removeLast() }
            if e.isDirectory || name.isEmpty || name == "." { continue }
            guard PackageLayout.isSafeEntryPath(name) else { throw PackagingError.unsafeName(name, context: path) }
            guard e.isRegularFile else {
                throw PackagingError.malformedPackage(path: "\(path): \(name)", message: "not a regular file (links are not allowed in a package)")
            }
            guard seen.insert(name).inserted else {
                throw PackagingError.malformedPackage(path: "\(path): \(name)", message: "the entry appears twice")
            }
            let keep: Bool
            switch name {
            case PackageLayout.zarfYAML, PackageLayout.checksums, PackageLayout.signature, PackageLayout.bundleSignature, "images/index.json":
                keep = true
            default:
                keep = name.hasPrefix("images/blobs/sha256/") && e.size <= Int64(smallBlobLimit) && Int(e.size) <= budget
            }
            var hasher = SHA256()
            var data = Data()
            var count: Int64 = 0
            try mapArchiveErrors(path) {
                try reader.readData { buf in
                    hasher.update(bufferPointer: buf)
                    count += Int64(buf.count)
                    if keep {
                        guard data.count + buf.count <= 64 << 20 else {
                            throw PackagingError.malformedPackage(path: "\(path): \(name)", message: "larger than 64 MiB")
                        }
                        data.append(contentsOf: buf)
                    }
                }
            }
            let hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
            entries.append(.init(name: name, size: count, sha256: hex))
            switch name {
            case PackageLayout.zarfYAML: zarfYAML = data
            case PackageLayout.checksums: checksums = data
            case PackageLayout.signature: signature = data
            case "images/index.json": indexData = data
            default:
                if keep { small[String(name.dropFirst("images/blobs/sha256/".count))] = data; budget -= data.count }
            }
        }

        guard let zarfYAML else {
            throw PackagingError.malformedPackage(path: path, message: "no zarf.yaml in the archive: not a Zarf package, or the archive is truncated")
        }
        let pkg = try parsePackaged(zarfYAML, file: "\(path): zarf.yaml")
        let integrity = checkIntegrity(pkg: pkg, checksums: checksums, entries: entries)

        var verified: Bool?
        var sigError: PackagingError?
        if let publicKeyPath {
            let key = try PackageSigning.loadPublicKey(path: publicKeyPath)
            if let signature {
                do {
                    try PackageSigning.verify(signatureFile: signature, for: zarfYAML, with: key, keyPath: publicKeyPath)
                    verified = true
                } catch let e as PackagingError { verified = false; sigError = e }
            } else {
                verified = false
                sigError = .signature("the package is not signed (no \(PackageLayout.signature)) but a key was given")
            }
        }
        let index = indexData.flatMap { try? JSONDecoder().decode(ImageIndex.self, from: $0) }
        return PackageContents(path: path, entries: entries, zarfYAML: zarfYAML, package: pkg, checksumsText: checksums,
                               signature: signature, imageIndex: index, smallBlobs: small, split: split,
                               integrityError: integrity, signatureVerified: verified, signatureError: sigError)
    }

    /// Reads `path` and throws the first integrity or signature failure.
    @discardableResult
    public static func verify(path: String, publicKeyPath: String? = nil) throws -> PackageContents {
        let c = try read(path: path, publicKeyPath: publicKeyPath)
        if let e = c.integrityError { throw e }
        if let e = c.signatureError { throw e }
        return c
    }

    /// zarf.yaml of a built package: Zarf's schema, then the name safety rules of the loader.
    static func parsePackaged(_ data: Data, file: String) throws -> ZarfPackage {
        guard let text = String(data: data, encoding: .utf8) else {
            throw PackagingError.malformedPackage(path: file, message: "not UTF-8 text")
        }
        let node = try PackageDefinition.parseNode(text, file: file)
        var validator = try SchemaValidator.zarfV1Alpha1()
        let result = validator.validate(node, file: file)
        guard result.errors.isEmpty else { throw PackagingError.invalidDefinition(result.errors) }
        let pkg: ZarfPackage
        do { pkg = try YAMLDecoder().decode(ZarfPackage.self, from: node) } catch {
            throw PackagingError.malformedPackage(path: file, message: "cannot decode: \(error)")
        }
        if let n = pkg.metadata?.name, !PackageDefinition.isSafeName(n) { throw PackagingError.unsafeName(n, context: "\(file): metadata.name") }
        for (i, c) in pkg.components.enumerated() {
            guard PackageDefinition.isSafeName(c.name) else { throw PackagingError.unsafeName(c.name, context: "\(file): components[\(i)].name") }
            for (j, ch) in (c.charts ?? []).enumerated() where !PackageDefinition.isSafeName(ch.name) {
                throw PackagingError.unsafeName(ch.name, context: "\(file): components[\(i)].charts[\(j)].name")
            }
            for (j, m) in (c.manifests ?? []).enumerated() where !PackageDefinition.isSafeName(m.name) {
                throw PackagingError.unsafeName(m.name, context: "\(file): components[\(i)].manifests[\(j)].name")
            }
        }
        return pkg
    }

    /// Zarf's integrity rules, in Zarf's order, returning the first failure.
    static func checkIntegrity(pkg: ZarfPackage, checksums: Data?, entries: [PackageContents.Entry]) -> PackagingError? {
        guard let checksums else { return .missingEntry(PackageLayout.checksums) }
        let aggregate = PackageLayout.sha256Hex(checksums)
        guard let expected = pkg.metadata?.aggregateChecksum, !expected.isEmpty else {
            return .malformedPackage(path: PackageLayout.zarfYAML, message: "metadata.aggregateChecksum is missing")
        }
        guard expected == aggregate else { return .checksumMismatch(entry: PackageLayout.checksums, expected: expected, actual: aggregate) }
        let listed: [String: String]
        do { listed = try PackageLayout.parseChecksums(String(decoding: checksums, as: UTF8.self)) } catch let e as PackagingError { return e } catch {
            return .malformedPackage(path: PackageLayout.checksums, message: "\(error)")
        }
        let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for e in entries {
            if PackageLayout.unlistedFiles.contains(e.name) { continue }
            guard let want = listed[e.name] else { return .unlistedEntry(e.name) }
            if want != e.sha256 { return .checksumMismatch(entry: e.name, expected: want, actual: e.sha256) }
        }
        for name in listed.keys.sorted() where byName[name] == nil { return .missingEntry(name) }
        return nil
    }

    static func mapArchiveErrors<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as ArchiveError {
            switch e {
            case .truncated: throw PackagingError.truncated(path: path)
            case .unsafePath(let name, _): throw PackagingError.unsafeName(name, context: path)
            case .libarchive(let m, _), .zstd(let m, _), .io(let m, _):
                let lower = m.lowercased()
                if lower.contains("truncated") || lower.contains("premature") || lower.contains("unexpected end") {
                    throw PackagingError.truncated(path: path)
                }
                throw PackagingError.malformedPackage(path: path, message: "not a readable package archive: \(m)")
            }
        }
    }
}
