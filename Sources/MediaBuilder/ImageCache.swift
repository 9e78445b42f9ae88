import Archiving
import Crypto
import Foundation
import Media
import OCI
import OutpostCore
import Packaging
#if canImport(Glibc)
import Glibc
#endif

/// Talos's image-cache tree (talos-facts.md, "Image cache"), planned from image sources without a registry:
/// `blob/sha256-<hex>` for configs and layers, `manifests/<registry>/<repo>/reference/<tag>` and
/// `manifests/<registry>/<repo>/digest/sha256-<hex>` for manifests (a `host:port` registry is written
/// `host_port_`). Talos serves it from `127.0.0.1:3172` as the first mirror of every registry.
///
/// Images come from OCI image layouts (blobs referenced in place) and from Zarf packages (the blobs the
/// node needs are extracted from the archive once, checked against their digests). The plan is a list of
/// `MediaFile`s, so the media writers stream each file straight onto the filesystem.
public struct ImageCachePlan: Sendable {
    /// Files relative to the image-cache root, sorted by path.
    public var files: [MediaFile]
    /// SHA-256 (hex) of every file of `files`, by path (blobs were checked; manifests hashed in memory).
    public var sha256: [String: String]
    /// Every image in the cache: normalised reference → manifest (or index) digest.
    public var images: [String: String]
    /// Images asked for that no source holds (only when `allowMissing`).
    public var missing: [String]
    /// Sum of the file sizes.
    public var totalBytes: UInt64
}

/// Where images for the cache come from.
public enum ImageSource: Sendable, Hashable, CustomStringConvertible {
    /// A Zarf package archive (`.tar.zst`, or a split package's `.part000`): its `images/` layout.
    case package(String)
    /// An OCI image layout directory (`skopeo copy … oci:DIR:…`, `outpost package` staging).
    case ociLayout(String)

    public var description: String {
        switch self {
        case .package(let p): return "package \(p)"
        case .ociLayout(let p): return "OCI layout \(p)"
        }
    }
}

public enum ImageCache {
    /// The directory name of a registry in the tree: `host:port` → `host_port_`.
    public static func registryDirectory(_ host: String) -> String {
        host.contains(":") ? host.replacingOccurrences(of: ":", with: "_") + "_" : host
    }

    /// The tree path of a manifest stored by tag and by digest for `ref`.
    public static func referencePath(_ ref: ImageReference, tag: String) -> String {
        "manifests/\(registryDirectory(ref.registry))/\(ref.repository)/reference/\(tag)"
    }
    public static func digestPath(_ ref: ImageReference, digest: OCI.Digest) -> String {
        "manifests/\(registryDirectory(ref.registry))/\(ref.repository)/digest/sha256-\(digest.hex)"
    }
    public static func blobPath(_ digest: OCI.Digest) -> String { "blob/sha256-\(digest.hex)" }

    /// Plans the cache for `wanted` images (nil: every named image of every source) from `sources`,
    /// extracting package blobs into `extractDirectory`. The first source holding an image wins.
    public static func plan(wanted: [String]?, sources: [ImageSource], extractDirectory: String,
                            allowMissing: Bool = false, progress: ProgressReporter = SilentProgress()) throws -> ImageCachePlan {
        try plan(wanted: wanted, catalogs: try sources.map(SourceCatalog.open), extractDirectory: extractDirectory,
                 allowMissing: allowMissing, progress: progress)
    }

    static func plan(wanted: [String]?, catalogs: [SourceCatalog], extractDirectory: String,
                     allowMissing: Bool, progress: ProgressReporter) throws -> ImageCachePlan {
        let sources = catalogs.map(\.source)

        var refs: [ImageReference] = []
        if let wanted {
            var seen = Set<String>()
            for w in wanted {
                let r: ImageReference
                do { r = try ImageReference(parsing: w) } catch { throw MediaBuilderError.image(source: "image list", reason: "\(w): \(error)") }
                if seen.insert(r.normalized).inserted { refs.append(r) }
            }
        } else {
            var seen = Set<String>()
            for c in catalogs { for r in c.images.keys.sorted() where seen.insert(r).inserted { refs.append(try ImageReference(parsing: r)) } }
        }

        var files: [String: MediaFileSource] = [:]
        var sums: [String: String] = [:]
        var images: [String: String] = [:]
        var missing: [String] = []
        var blobsBySource: [Int: [Descriptor]] = [:]
        for ref in refs {
            guard let (ci, desc) = catalogs.enumerated().lazy.compactMap({ i, c in c.find(ref).map { (i, $0) } }).first else {
                missing.append(ref.normalized); continue
            }
            let cat = catalogs[ci]
            let top = try cat.manifestBytes(desc.digest, context: ref.normalized)
            var docs: [(OCI.Digest, Data)] = [(desc.digest, top)]
            switch try parse(top, desc, ref, cat) {
            case .manifest(let m): blobsBySource[ci, default: []] += m.blobs
            case .index(let idx):
                var any = false
                for child in idx.manifests where cat.hasManifest(child.digest) {
                    let bytes = try cat.manifestBytes(child.digest, context: ref.normalized)
                    guard case .manifest(let m) = try parse(bytes, child, ref, cat) else { continue }
                    docs.append((child.digest, bytes)); blobsBySource[ci, default: []] += m.blobs; any = true
                }
                if !any { throw MediaBuilderError.image(source: cat.source.description, reason: "\(ref.normalized): an index with none of its platform manifests present") }
            }
            for (d, bytes) in docs {
                files[digestPath(ref, digest: d)] = .bytes([UInt8](bytes))
                sums[digestPath(ref, digest: d)] = d.hex
            }
            if let tag = ref.tag ?? (ref.digest == nil ? "latest" : nil) {
                files[referencePath(ref, tag: tag)] = .bytes([UInt8](top))
                sums[referencePath(ref, tag: tag)] = desc.digest.hex
            }
            images[ref.normalized] = desc.digest.description
        }
        if !missing.isEmpty && !allowMissing {
            throw MediaBuilderError.missingImages(missing, searched: sources.map(\.description))
        }

        for (ci, blobs) in blobsBySource.sorted(by: { $0.key < $1.key }) {
            var unique: [OCI.Digest: Descriptor] = [:]
            for b in blobs where files[blobPath(b.digest)] == nil { unique[b.digest] = b }
            let placed = try catalogs[ci].materialize(Array(unique.values).sorted { $0.digest < $1.digest },
                                                      extractDirectory: extractDirectory, progress: progress)
            for (d, path) in placed {
                files[blobPath(d)] = .file(path: path)
                sums[blobPath(d)] = d.hex
            }
        }
        var total: UInt64 = 0
        let list = files.keys.sorted().map { p -> MediaFile in
            let src = files[p]!
            switch src {
            case .bytes(let b): total += UInt64(b.count)
            case .file(let path): total += fileSize(path)
            }
            return MediaFile(path: p, source: src)
        }
        return ImageCachePlan(files: list, sha256: sums, images: images, missing: missing, totalBytes: total)
    }

    /// Writes a plan as a directory tree (for `outpost image-cache build`): into `DIR.tmp-…`, then renamed.
    public static func materialize(_ plan: ImageCachePlan, into directory: String, overwrite: Bool) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: directory) {
            guard overwrite else { throw MediaBuilderError.exists(path: directory) }
        }
        let tmp = AtomicFileName.temporary(for: directory)
        do {
            for f in plan.files {
                let dst = tmp + "/" + f.path
                try fm.createDirectory(atPath: (dst as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                switch f.source {
                case .bytes(let b): try Data(b).write(to: URL(fileURLWithPath: dst))
                case .file(let p):
                    // Same filesystem: a hard link costs nothing; otherwise copy.
                    if link(p, dst) != 0 { try fm.copyItem(atPath: p, toPath: dst) }
                }
            }
            if fm.fileExists(atPath: directory) { try fm.removeItem(atPath: directory) }
            try fm.moveItem(atPath: tmp, toPath: directory)
        } catch {
            try? fm.removeItem(atPath: tmp)
            if let e = error as? MediaBuilderError { throw e }
            throw MediaBuilderError.io(path: directory, reason: "\(error)")
        }
    }

    private static func parse(_ data: Data, _ d: Descriptor, _ ref: ImageReference, _ cat: SourceCatalog) throws -> ManifestDocument {
        do { return try ManifestDocument.parse(data, mediaType: d.mediaType, context: ref.normalized) } catch {
            throw MediaBuilderError.image(source: cat.source.description, reason: "\(error)")
        }
    }

    static func fileSize(_ path: String) -> UInt64 {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_size) : 0
    }
}

/// Temporary names beside a destination, so a rename publishes the result at once.
enum AtomicFileName {
    static func temporary(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().path + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }
}

/// One image source opened: its named images and how to get manifests and blobs out of it.
struct SourceCatalog {
    let source: ImageSource
    /// Normalised reference → descriptor in the source's index.
    var images: [String: Descriptor]
    private var index: ImageIndex
    private var layout: LayoutStore?
    private(set) var packageContents: PackageContents?

    static func open(_ source: ImageSource) throws -> SourceCatalog {
        switch source {
        case .ociLayout(let path):
            do {
                let store = try LayoutStore(path: path, create: false)
                let index = try store.readIndex()
                return SourceCatalog(source: source, images: named(index), index: index, layout: store, packageContents: nil)
            } catch let e as OCIError { throw MediaBuilderError.image(source: source.description, reason: e.description) }
        case .package(let path):
            let contents: PackageContents
            do { contents = try PackageReader.verify(path: path) } catch {
                throw MediaBuilderError.package(path: path, reason: "\(error)")
            }
            let index = contents.imageIndex ?? ImageIndex(manifests: [])
            return SourceCatalog(source: source, images: named(index), index: index, layout: nil, packageContents: contents)
        }
    }

    static func named(_ index: ImageIndex) -> [String: Descriptor] {
        var out: [String: Descriptor] = [:]
        for d in index.manifests {
            for n in [d.annotations?[Annotation.baseName], d.annotations?[Annotation.refName]].compactMap({ $0 }) {
                guard n.contains("/") || n.contains(":"), let r = try? ImageReference(parsing: n) else { continue }
                if out[r.normalized] == nil { out[r.normalized] = d }
            }
        }
        return out
    }

    func find(_ ref: ImageReference) -> Descriptor? {
        if let d = images[ref.normalized] { return d }
        if let pin = ref.digest { return index.manifests.first { $0.digest == pin } }
        return nil
    }

    func hasManifest(_ d: OCI.Digest) -> Bool {
        if let layout { return layout.hasBlob(d) }
        return packageContents?.smallBlobs[d.hex] != nil
    }

    func manifestBytes(_ d: OCI.Digest, context: String) throws -> Data {
        if let layout {
            do { return try layout.readBlob(d) } catch { throw MediaBuilderError.image(source: source.description, reason: "\(context): manifest \(d): \(error)") }
        }
        guard let data = packageContents?.smallBlobs[d.hex] else {
            throw MediaBuilderError.image(source: source.description, reason: "\(context): manifest \(d) is not in the package")
        }
        guard OCI.Digest.sha256(data) == d else {
            throw MediaBuilderError.image(source: source.description, reason: "\(context): manifest \(d) does not match its digest")
        }
        return data
    }

    /// Host paths holding each blob: a layout's own files (checked against their digests), or files
    /// extracted from a package archive into `extractDirectory` (checked while extracting).
    func materialize(_ blobs: [Descriptor], extractDirectory: String, progress: ProgressReporter) throws -> [(OCI.Digest, String)] {
        if let layout {
            let total = blobs.reduce(Int64(0)) { $0 + $1.size }
            progress.begin("checking image blobs", total: total, unit: .bytes)
            defer { progress.end("checking image blobs") }
            // Hashing is the cost here: spread the blobs over the cores.
            let results = ConcurrentResults<Result<Void, MediaBuilderError>>(count: blobs.count)
            let context = source.description
            DispatchQueue.concurrentPerform(iterations: blobs.count) { i in
                let b = blobs[i]
                do {
                    let (digest, size) = try Digest.sha256(file: layout.blobPath(b.digest)) {
                        progress.advance("checking image blobs", by: $0)
                    }
                    results.set(i, digest == b.digest && size == b.size ? .success(()) : .failure(MediaBuilderError.image(
                        source: context, reason: "blob \(b.digest) is damaged (sha256 \(digest.hex), \(size) bytes; expected \(b.size) bytes)")))
                } catch {
                    let reason = if case .file(_, let why)? = error as? OCIError { why } else { "\(error)" }
                    results.set(i, .failure(.io(path: layout.blobPath(b.digest), reason: reason)))
                }
            }
            for r in results.values { try r?.get() }
            return blobs.map { ($0.digest, layout.blobPath($0.digest)) }
        }
        guard let package = packageContents else { return [] }
        try FileManager.default.createDirectory(atPath: extractDirectory, withIntermediateDirectories: true)
        let wanted = Dictionary(blobs.map { ($0.digest.hex, $0) }, uniquingKeysWith: { a, _ in a })
        var placed: [(OCI.Digest, String)] = []
        let reader: TarReader
        do {
            reader = SplitPackage.isSplit(package.path)
                ? try TarReader(paths: try SplitPackage.verifyParts(part000: package.path).parts)
                : try TarReader(path: package.path)
        } catch { throw MediaBuilderError.package(path: package.path, reason: "\(error)") }
        let total = blobs.reduce(Int64(0)) { $0 + $1.size }
        progress.begin("extracting image blobs", total: total, unit: .bytes)
        defer { progress.end("extracting image blobs") }
        do {
            while let e = try reader.next() {
                var name = e.name
                while name.hasPrefix("./") { name.removeFirst(2) }
                guard name.hasPrefix("images/blobs/sha256/"), e.isRegularFile else { continue }
                let hex = String(name.dropFirst("images/blobs/sha256/".count))
                guard let desc = wanted[hex] else { continue }
                let dst = extractDirectory + "/" + hex
                let sink = try BlobFileSink(path: dst)
                var hasher = SHA256()
                try reader.readData { buf in
                    hasher.update(bufferPointer: buf)
                    try sink.write(buf)
                    progress.advance("extracting image blobs", by: Int64(buf.count))
                }
                try sink.close()
                let got = hasher.finalize().map { String(format: "%02x", $0) }.joined()
                guard got == hex, sink.written == desc.size else {
                    unlink(dst)
                    throw MediaBuilderError.package(path: package.path, reason: "\(name) is damaged (sha256 \(got))")
                }
                placed.append((desc.digest, dst))
            }
        } catch let e as MediaBuilderError { throw e } catch {
            throw MediaBuilderError.package(path: package.path, reason: "\(error)")
        }
        let found = Set(placed.map(\.0.hex))
        if let absent = blobs.first(where: { !found.contains($0.digest.hex) }) {
            throw MediaBuilderError.package(path: package.path, reason: "images/blobs/sha256/\(absent.digest.hex) is missing")
        }
        return placed
    }
}

/// A plain write-only file sink, with errors naming the file.
final class BlobFileSink {
    let path: String
    private var fd: Int32
    private(set) var written: Int64 = 0

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MediaBuilderError.io(path: path, reason: String(cString: strerror(errno))) }
    }

    func write(_ buf: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < buf.count {
            let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0 { if errno == EINTR { continue }; throw MediaBuilderError.io(path: path, reason: String(cString: strerror(errno))) }
            off += n
        }
        written += Int64(buf.count)
    }

    func close() throws {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }
}

/// Results written by concurrent workers, one slot each.
final class ConcurrentResults<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [T?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: T) { lock.withLock { slots[i] = v } }
    var values: [T?] { lock.withLock { slots } }
}
