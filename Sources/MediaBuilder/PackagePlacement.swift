import Crypto
import Foundation
import OCI
import Media
import OutpostCore
import Packaging
#if canImport(Glibc)
import Glibc
#endif

/// Puts the site's packages under `outpost/packages/` on the data volume. A package larger than FAT32's
/// 4 GiB file limit is split in Zarf's split-package form (`.part001…` plus the `.part000` record with the
/// whole file's SHA-256, size and part count), which `outpost package` and Zarf read in place; an already
/// split package keeps its parts.
enum PackagePlacement {
    struct Placed {
        var record: MediaManifest.Package
        var files: [MediaFile]
        var sha256: [String: String]
    }

    static let directory = "outpost/packages"

    static func place(_ catalogs: [SourceCatalog], maxFileSize: UInt64, work: String, progress: ProgressReporter) throws -> [Placed] {
        var out: [Placed] = []
        var names = Set<String>()
        for cat in catalogs {
            guard let contents = cat.packageContents else { continue }
            let path = contents.path
            var base = URL(fileURLWithPath: path).lastPathComponent
            if SplitPackage.isSplit(base) { base = String(base.dropLast(".part000".count)) }
            guard names.insert(base).inserted else {
                throw MediaBuilderError.package(path: path, reason: "two packages are named \(base); rename one")
            }
            let meta = contents.package.metadata
            var placed = Placed(record: .init(name: meta?.name ?? base, version: meta?.version, files: [], sha256: "", size: 0),
                                files: [], sha256: [:])
            func add(_ name: String, _ source: MediaFileSource, _ sum: String) {
                let p = "\(directory)/\(name)"
                placed.files.append(MediaFile(path: p, source: source))
                placed.sha256[p] = sum
                placed.record.files.append(p)
            }
            if let split = contents.split {
                let parts = try SplitPackage.verifyParts(part000: path).parts
                add(base + ".part000", .file(path: path), try hashFile(path, progress))
                for (i, part) in parts.enumerated() {
                    let size = ImageCache.fileSize(part)
                    guard size <= maxFileSize else {
                        throw MediaBuilderError.tooLarge(what: "package part \(part)", size: size, limit: maxFileSize,
                                                         hint: "re-create the package with a smaller --max-package-size")
                    }
                    add(base + String(format: ".part%03d", i + 1), .file(path: part), try hashFile(part, progress))
                }
                placed.record.sha256 = split.Sha256Sum.lowercased()
                placed.record.size = UInt64(split.Bytes)
            } else {
                let size = ImageCache.fileSize(path)
                if size <= maxFileSize {
                    let sum = try hashFile(path, progress)
                    add(base, .file(path: path), sum)
                    placed.record.sha256 = sum
                } else {
                    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
                    let (parts, whole) = try split(path, partSize: maxFileSize, into: work + "/" + base, progress: progress)
                    // Zarf's record; built through its Codable form (the type has no public initialiser).
                    let record = try JSONDecoder().decode(SplitPackage.Record.self, from: Data(#"{"Sha256Sum":"\#(whole)","Bytes":\#(size),"Count":\#(parts.count)}"#.utf8))
                    add(base + ".part000", .bytes([UInt8](record.json)), MediaBuilder.hex(SHA256.hash(data: record.json)))
                    for (i, p) in parts.enumerated() { add(base + String(format: ".part%03d", i + 1), .file(path: p.path), p.sha256) }
                    placed.record.sha256 = whole
                }
                placed.record.size = size
            }
            out.append(placed)
        }
        return out
    }

    static func hashFile(_ path: String, _ progress: ProgressReporter) throws -> String {
        progress.begin("hashing \(URL(fileURLWithPath: path).lastPathComponent)", total: Int64(ImageCache.fileSize(path)), unit: .bytes)
        defer { progress.end("hashing \(URL(fileURLWithPath: path).lastPathComponent)") }
        return try Digest.sha256(file: path) {
            progress.advance("hashing \(URL(fileURLWithPath: path).lastPathComponent)", by: $0)
        }.digest.hex
    }

    /// Copies `path` into `prefix.partNNN` files of at most `partSize` bytes; returns each part's path and
    /// SHA-256 and the whole file's SHA-256.
    static func split(_ path: String, partSize: UInt64, into prefix: String, progress: ProgressReporter) throws -> ([(path: String, sha256: String)], String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MediaBuilderError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let bufSize = 4 << 20
        let buf = UnsafeMutableRawPointer.allocate(byteCount: bufSize, alignment: 4096)
        defer { buf.deallocate() }
        var whole = SHA256()
        var parts: [(String, String)] = []
        var done = false
        let phase = "splitting \(URL(fileURLWithPath: path).lastPathComponent)"
        progress.begin(phase, total: Int64(ImageCache.fileSize(path)), unit: .bytes)
        defer { progress.end(phase) }
        while !done {
            let partPath = prefix + String(format: ".part%03d", parts.count + 1)
            let sink = try BlobFileSink(path: partPath)
            var hasher = SHA256()
            var inPart: UInt64 = 0
            while inPart < partSize {
                let want = Int(min(UInt64(bufSize), partSize - inPart))
                let n = read(fd, buf, want)
                if n < 0 { if errno == EINTR { continue }; throw MediaBuilderError.io(path: path, reason: String(cString: strerror(errno))) }
                if n == 0 { done = true; break }
                let b = UnsafeRawBufferPointer(start: buf, count: n)
                whole.update(bufferPointer: b); hasher.update(bufferPointer: b)
                try sink.write(b)
                inPart += UInt64(n)
                progress.advance(phase, by: Int64(n))
            }
            try sink.close()
            if inPart == 0 { unlink(partPath); break }
            parts.append((partPath, MediaBuilder.hex(hasher.finalize())))
        }
        return (parts, MediaBuilder.hex(whole.finalize()))
    }
}
