import Archiving
import Crypto
import Foundation
import OCI
import OutpostCore
#if canImport(Glibc)
import Glibc
#endif

/// Options for writing a package archive.
public struct PackageWriteOptions: Sendable {
    /// `--max-package-size` in MB (1 MB = 1,000,000 bytes); 0 = never split.
    public var maxPackageSizeMB: Int
    /// PEM private key to sign zarf.yaml with (`zarf.yaml.sig`); nil = unsigned.
    public var signingKeyPath: String?
    /// zstd level (Zarf: the default, 3).
    public var compressionLevel: Int32
    /// Progress for the long part (hashing and archiving bytes).
    public var progress: any ProgressReporter
    /// Files that appear in the staging directory only while the archive is being written (image blobs
    /// still downloading), by entry path (`images/blobs/sha256/<hex>`), with the SHA-256 and size the
    /// manifests already give. The writer waits for each through `gate` when it reaches it.
    public var pendingFiles: [String: PendingFile]
    public var gate: (any StagedFileGate)?
    /// The staging `images/blobs/sha256/<hex>` files were checked against their names as they were written
    /// (the layout store does): their checksum is the name, not hashed a second time.
    public var blobNamesVerified: Bool
    /// fsync the archive (each part) before it is renamed into place, so it is on disk when the call
    /// returns. Off by default, as with tar, skopeo and Zarf: a package is rebuilt from its definition,
    /// and one torn by a power cut fails its zstd checksum and checksums.txt at verify and deploy. The
    /// cost is the disk's write time for the whole package (1.5 s for 400 MB on the CI machines).
    public var syncToDisk: Bool

    public init(maxPackageSizeMB: Int = 0, signingKeyPath: String? = nil, compressionLevel: Int32 = 3,
                progress: any ProgressReporter = SilentProgress(), pendingFiles: [String: PendingFile] = [:],
                gate: (any StagedFileGate)? = nil, blobNamesVerified: Bool = false, syncToDisk: Bool = false) {
        self.syncToDisk = syncToDisk
        self.maxPackageSizeMB = maxPackageSizeMB
        self.signingKeyPath = signingKeyPath
        self.compressionLevel = compressionLevel
        self.progress = progress
        self.pendingFiles = pendingFiles
        self.gate = gate
        self.blobNamesVerified = blobNamesVerified
    }
}

/// A file of the package whose content is known by digest and size before its bytes are staged.
public struct PendingFile: Sendable, Hashable {
    public var sha256Hex: String
    public var size: Int64
    public init(sha256Hex: String, size: Int64) {
        self.sha256Hex = sha256Hex
        self.size = size
    }
}

/// Lets the package writer stream an archive while its large files are still arriving: it waits for a
/// pending file before archiving it and says when it is done with it (so the stager can delete it and
/// temporary space stays near one package). `waitForFile` throws when the file will never come.
public protocol StagedFileGate: Sendable {
    func waitForFile(_ entry: String) throws
    func fileArchived(_ entry: String)
}

/// Writes a package archive in Zarf's layout from a staging directory the builder filled:
///
///     staging/images/            one OCI image layout (oci-layout, index.json, blobs/sha256/…)
///     staging/components/<name>/ one tree per component (charts/, manifests/, files/, …)
///     staging/sboms/, staging/documentation/  optional trees (or ready-made sboms.tar / documentation.tar)
///
/// Component trees become `components/<name>.tar` (entries `<name>/…`, sorted, zero mtimes), every
/// file is hashed into checksums.txt, the aggregate checksum goes into zarf.yaml, zarf.yaml is
/// optionally signed, and the archive (zstd or plain tar, entries sorted) is written under a temporary
/// name and renamed; large packages are split into `.partNNN` files. Files are streamed, never held
/// in memory. Same inputs, same bytes.
public enum PackageWriter {
    /// Writes the package and returns its path (the `.part000` file when split).
    @discardableResult
    public static func write(staging: String, definition: ResolvedPackage, outputDirectory: String,
                             options: PackageWriteOptions = PackageWriteOptions()) throws -> URL {
        try write(staging: staging, package: definition.package, outputDirectory: outputDirectory, options: options)
    }

    /// As above, from a `ZarfPackage` whose `build` block is already set.
    @discardableResult
    public static func write(staging: String, package input: ZarfPackage, outputDirectory: String,
                             options: PackageWriteOptions = PackageWriteOptions()) throws -> URL {
        let fm = FileManager.default
        var pkg = input
        guard pkg.build != nil else {
            throw PackagingError.malformedPackage(path: "zarf.yaml", message: "the definition has no build block (resolve it with PackageDefinition.load)")
        }
        for c in pkg.components where !PackageDefinition.isSafeName(c.name) {
            throw PackagingError.unsafeName(c.name, context: "component name")
        }
        if let n = pkg.metadata?.name, !PackageDefinition.isSafeName(n) { throw PackagingError.unsafeName(n, context: "package name") }
        try fm.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        let signingKey = try options.signingKeyPath.map { try PackageSigning.loadPrivateKey(path: $0) }

        // Work directory beside the output (same filesystem), removed whatever happens.
        let work = try makeWorkDirectory(in: outputDirectory)
        defer { try? fm.removeItem(atPath: work) }

        // 1. Collect the files of the archive: (entry name, source path).
        var files: [(entry: String, source: String)] = []
        let top = (try? fm.contentsOfDirectory(atPath: staging)) ?? []
        let known: Set<String> = ["images", "components", "sboms", "documentation", PackageLayout.sbomsTar, PackageLayout.documentationTar]
        for name in top.sorted() where !known.contains(name) {
            throw PackagingError.malformedPackage(path: staging + "/" + name, message: "unexpected entry in the staging directory (expected images/, components/, sboms, documentation)")
        }
        let images = staging + "/images"
        if isDirectory(images) {
            // Dot-files (the layout store's lock file, temporary blobs) are not part of the layout.
            for rel in try regularFiles(under: images) where !rel.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
                files.append(("images/" + rel, images + "/" + rel))
            }
        }
        if !options.pendingFiles.isEmpty {
            guard options.gate != nil else {
                throw PackagingError.malformedPackage(path: staging, message: "pending files given without a gate to wait for them")
            }
            let present = Set(files.map(\.entry))
            for entry in options.pendingFiles.keys.sorted() where !present.contains(entry) {
                guard entry.hasPrefix("images/") else { throw PackagingError.unsafeName(entry, context: "pending image file") }
                files.append((entry, staging + "/" + entry))
            }
        }
        let components = staging + "/components"
        let componentNames = Set(pkg.components.map(\.name))
        if isDirectory(components) {
            try fm.createDirectory(atPath: work + "/components", withIntermediateDirectories: true)
            for name in try fm.contentsOfDirectory(atPath: components).sorted() {
                let src = components + "/" + name
                if name.hasSuffix(".tar"), !isDirectory(src) {
                    guard componentNames.contains(String(name.dropLast(4))) else {
                        throw PackagingError.malformedPackage(path: src, message: "no component named \(name.dropLast(4)) in the definition")
                    }
                    files.append(("components/" + name, src))
                    continue
                }
                guard isDirectory(src) else { throw PackagingError.malformedPackage(path: src, message: "expected a component directory") }
                guard componentNames.contains(name), PackageDefinition.isSafeName(name) else {
                    throw PackagingError.malformedPackage(path: src, message: "no component named \(name) in the definition")
                }
                guard try !regularFiles(under: src).isEmpty else { continue }
                let tar = work + "/components/\(name).tar"
                try writeTreeTar(root: src, prefix: name, to: tar)
                files.append(("components/\(name).tar", tar))
            }
        }
        for (dir, tarName) in [("sboms", PackageLayout.sbomsTar), ("documentation", PackageLayout.documentationTar)] {
            let d = staging + "/" + dir, t = staging + "/" + tarName
            if isDirectory(d) {
                _ = try regularFiles(under: d)  // refuses symlinks and special files
                let out = work + "/" + tarName
                try writeTreeTar(root: d, prefix: "", to: out)
                files.append((tarName, out))
            } else if fm.fileExists(atPath: t) {
                files.append((tarName, t))
            }
        }
        for f in files where !PackageLayout.isSafeEntryPath(f.entry) { throw PackagingError.unsafeName(f.entry, context: staging) }

        // 2. checksums.txt and the aggregate checksum.
        func size(_ f: (entry: String, source: String)) -> Int64 { options.pendingFiles[f.entry]?.size ?? fileSize(f.source) }
        let total = files.reduce(Int64(0)) { $0 + size($1) }
        options.progress.begin("hashing package files", total: total, unit: .bytes)
        var sums: [(path: String, sha256: String)] = []
        for f in files {
            if let pending = options.pendingFiles[f.entry] {
                sums.append((f.entry, pending.sha256Hex))
            } else if options.blobNamesVerified, let hex = Self.blobHex(f.entry) {
                sums.append((f.entry, hex))
            } else {
                sums.append((f.entry, try Digest.sha256(file: f.source).digest.hex))
            }
            options.progress.advance("hashing package files", by: size(f))
        }
        options.progress.end("hashing package files")
        let checksums = Data(PackageLayout.checksumsText(sums).utf8)
        if pkg.metadata == nil { pkg.metadata = ZarfMetadata(name: "init") }
        pkg.metadata?.aggregateChecksum = PackageLayout.sha256Hex(checksums)
        if signingKey != nil { pkg.build?.signed = true }
        let zarfYAML = try PackageDefinition.encode(pkg)
        let signature = try signingKey.map { try PackageSigning.sign(zarfYAML, with: $0) }

        // 3. The archive: entries sorted by name, directories included.
        enum Source { case data(Data), file(String), directory }
        var entries: [String: Source] = [PackageLayout.zarfYAML: .data(zarfYAML), PackageLayout.checksums: .data(checksums)]
        if let signature { entries[PackageLayout.signature] = .data(signature) }
        for f in files {
            entries[f.entry] = .file(f.source)
            var parts = f.entry.split(separator: "/").dropLast()
            while !parts.isEmpty { entries[parts.joined(separator: "/")] = .directory; parts = parts.dropLast() }
        }
        let fileName = PackageLayout.fileName(for: pkg)
        let destination = outputDirectory + "/" + fileName
        let compressed = pkg.metadata?.uncompressed != true
        let tmp = work + "/" + fileName
        options.progress.begin("writing \(fileName)", total: total, unit: .bytes)
        // With --max-package-size the archive is written straight into parts (no second copy on disk).
        let chunk = Int64(options.maxPackageSizeMB) * 1_000_000
        let splitter = chunk > 0 ? SplittingSink(directory: work, chunkSize: chunk, context: destination,
                                                       syncToDisk: options.syncToDisk) : nil
        do {
            let file: ByteSink
            if let splitter { file = splitter } else { file = try FileSink(path: tmp, syncOnFinish: options.syncToDisk) }
            let sink: ByteSink = compressed ? try ZstdSink(next: file, level: options.compressionLevel, context: destination) : file
            let tar = try TarWriter(sink: sink, context: destination)
            for name in entries.keys.sorted() {
                switch entries[name]! {
                case .directory: try tar.addDirectory(name)
                case .data(let d): try tar.addFile(name, data: d)
                case .file(let p):
                    let pending = options.pendingFiles[name]
                    if let pending {
                        try options.gate?.waitForFile(name)
                        guard fileSize(p) == pending.size else {
                            throw PackagingError.malformedPackage(path: p, message: "staged with \(fileSize(p)) bytes, the manifest says \(pending.size)")
                        }
                    }
                    try tar.addFile(name, fromPath: p) { options.progress.advance("writing \(fileName)", by: $0) }
                    if pending != nil { options.gate?.fileArchived(name) }
                }
            }
            try tar.close()
        }
        options.progress.end("writing \(fileName)")

        // 4. Move into place: whole, or as parts.
        removeStaleParts(of: destination)
        if let splitter {
            return URL(fileURLWithPath: try SplitPackage.place(splitter, destination: destination, work: work))
        }
        guard rename(tmp, destination) == 0 else { throw PackagingError.io(path: destination, message: String(cString: strerror(errno))) }
        return URL(fileURLWithPath: destination)
    }

    /// Writes a reproducible tar of a directory tree, entries `<prefix>/…` (or bare when prefix is
    /// empty), sorted, with the root directory entry first.
    static func writeTreeTar(root: String, prefix: String, to path: String) throws {
        let tar = try TarWriter(path: path, zstd: false)
        if !prefix.isEmpty { try tar.addDirectory(prefix) }
        try tar.addTree(at: root, prefix: prefix)
        try tar.close()
    }

    /// The hex digest an `images/blobs/sha256/<hex>` entry is named for, or nil.
    static func blobHex(_ entry: String) -> String? {
        let prefix = "images/blobs/sha256/"
        guard entry.hasPrefix(prefix) else { return nil }
        let hex = entry.dropFirst(prefix.count)
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        return String(hex)
    }

    static func makeWorkDirectory(in dir: String) throws -> String {
        var template = Array((dir + "/.outpost-write-XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else { throw PackagingError.io(path: dir, message: "cannot create a work directory: \(String(cString: strerror(errno)))") }
        return String(cString: p)
    }

    static func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }

    static func fileSize(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }

    /// Relative paths of the regular files under `root`, sorted; symlinks and special files are refused.
    static func regularFiles(under root: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            throw PackagingError.io(path: root, message: "cannot read the directory")
        }
        var out: [String] = []
        while let rel = walker.nextObject() as? String {
            let full = root + "/" + rel
            var st = stat()
            guard lstat(full, &st) == 0 else { throw PackagingError.io(path: full, message: String(cString: strerror(errno))) }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: continue
            case S_IFREG: out.append(rel)
            default: throw PackagingError.malformedPackage(path: full, message: "not a regular file (symlinks and devices are not packaged)")
            }
        }
        return out.sorted()
    }

    static func removeStaleParts(of destination: String) {
        let dir = (destination as NSString).deletingLastPathComponent
        let base = (destination as NSString).lastPathComponent
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        where name.hasPrefix(base + ".part") && name.count == base.count + 8 && name.suffix(3).allSatisfy(\.isNumber) {
            unlink(dir + "/" + name)
        }
    }
}
