import Foundation
import OutpostCore
#if canImport(Glibc)
import Glibc
#endif

/// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/<hex>`).
///
/// Content-addressed and shared by all images of a package: a blob is stored once however many images
/// use it. Every blob is checked against its digest as it is written and lands under its final name only
/// by an atomic rename, so readers never see a partial blob. Concurrent writers (tasks or processes) are
/// safe: blobs are immutable once named, and `index.json` updates are serialised with a file lock.
public final class LayoutStore: Sendable {
    public let path: String
    public var blobsDirectory: String { path + "/blobs/sha256" }

    /// Opens the layout at `path`, creating an empty one if `create` and it does not exist.
    public init(path: String, create: Bool = true) throws {
        self.path = path
        let fm = FileManager.default
        let layoutFile = path + "/oci-layout"
        if !fm.fileExists(atPath: layoutFile) {
            guard create else { throw OCIError.layout(path: path, reason: "no oci-layout file: not an OCI image layout") }
            try fm.createDirectory(atPath: path + "/blobs/sha256", withIntermediateDirectories: true)
            try Self.atomicWrite(Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), to: layoutFile)
            if !fm.fileExists(atPath: path + "/index.json") {
                try Self.atomicWrite(try Self.encodeIndex(ImageIndex(manifests: [])), to: path + "/index.json")
            }
        } else {
            try fm.createDirectory(atPath: path + "/blobs/sha256", withIntermediateDirectories: true)
        }
    }

    // MARK: blobs

    public func blobPath(_ digest: Digest) -> String { "\(blobsDirectory)/\(digest.hex)" }

    public func hasBlob(_ digest: Digest) -> Bool { FileManager.default.fileExists(atPath: blobPath(digest)) }

    public func blobSize(_ digest: Digest) -> Int64? {
        var st = stat()
        return stat(blobPath(digest), &st) == 0 ? Int64(st.st_size) : nil
    }

    /// Reads a whole blob (manifests, configs, indexes: small things). Verifies its digest.
    public func readBlob(_ digest: Digest) throws -> Data {
        guard let data = FileManager.default.contents(atPath: blobPath(digest)) else { throw OCIError.blobNotFound(digest.description) }
        let actual = Digest.sha256(data)
        guard actual == digest else {
            throw OCIError.digestMismatch(expected: digest.description, actual: actual.description, context: blobPath(digest))
        }
        return data
    }

    /// Writes a small blob whose bytes are in memory; returns its descriptor digest.
    @discardableResult
    public func writeBlob(_ data: Data, expected: Digest? = nil) throws -> Digest {
        let w = try BlobWriter(store: self)
        try w.write(data)
        return try w.commit(expected: expected, expectedSize: nil)
    }

    /// Starts a streamed blob write; call `write` with each chunk and then `commit`.
    public func blobWriter() throws -> BlobWriter { try BlobWriter(store: self) }

    /// Every blob file present (for verification and garbage listing).
    public func allBlobs() throws -> [Digest] {
        try FileManager.default.contentsOfDirectory(atPath: blobsDirectory).compactMap { try? Digest(sha256Hex: $0) }.sorted()
    }

    // MARK: index.json

    public func readIndex() throws -> ImageIndex {
        guard let data = FileManager.default.contents(atPath: path + "/index.json") else {
            throw OCIError.layout(path: path, reason: "index.json missing")
        }
        do { return try JSONDecoder().decode(ImageIndex.self, from: data) } catch {
            throw OCIError.layout(path: path, reason: "index.json: \(error)")
        }
    }

    /// Adds (or replaces, by base-name annotation and digest) a manifest descriptor in index.json,
    /// keeping the index sorted. Serialised across tasks and processes with a lock file.
    public func addToIndex(_ descriptor: Descriptor) throws {
        try withIndexLock {
            var index = try readIndex()
            let name = descriptor.annotations?[Annotation.baseName]
            index.manifests.removeAll { d in
                d.digest == descriptor.digest && d.annotations?[Annotation.baseName] == name
            }
            index.manifests.append(descriptor)
            index.manifests.sort(by: Self.indexOrder)
            try Self.atomicWrite(try Self.encodeIndex(index), to: path + "/index.json")
        }
    }

    /// Replaces the whole index (sorted).
    public func writeIndex(_ index: ImageIndex) throws {
        var index = index
        index.manifests.sort(by: Self.indexOrder)
        try withIndexLock { try Self.atomicWrite(try Self.encodeIndex(index), to: path + "/index.json") }
    }

    /// Finds the manifest descriptor whose base-name annotation is `name` (a normalised reference or `path:tag`).
    public func descriptor(named name: String) throws -> Descriptor? {
        try readIndex().manifests.first { $0.annotations?[Annotation.baseName] == name }
    }

    static func indexOrder(_ a: Descriptor, _ b: Descriptor) -> Bool {
        let an = a.annotations?[Annotation.baseName] ?? "", bn = b.annotations?[Annotation.baseName] ?? ""
        return an != bn ? an < bn : a.digest < b.digest
    }

    static func encodeIndex(_ index: ImageIndex) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try e.encode(index)
    }

    private func withIndexLock<T>(_ body: () throws -> T) throws -> T {
        let fd = open(path + "/.index.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OCIError.layout(path: path, reason: "cannot open lock: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 { if errno != EINTR { break } }
        defer { flock(fd, LOCK_UN) }
        return try Self.indexMutex.withLock { try body() }
    }
    private static let indexMutex = NSLock()

    static func atomicWrite(_ data: Data, to path: String) throws {
        try AtomicFile.write(data, to: path)
    }
}

/// Streams one blob into a layout: bytes go to a temporary file while being hashed; `commit` checks the
/// digest (and size) and renames into place. A blob that fails its check never appears in the store.
public final class BlobWriter: @unchecked Sendable {
    private let store: LayoutStore
    private let tmpPath: String
    private var fd: Int32
    private var digester = StreamingDigester()
    private var finished = false

    init(store: LayoutStore) throws {
        self.store = store
        tmpPath = store.blobsDirectory + "/.tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        fd = open(tmpPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OCIError.layout(path: store.path, reason: "cannot create \(tmpPath): \(String(cString: strerror(errno)))") }
    }

    public var bytesWritten: Int64 { digester.count }

    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write(bufferPointer: $0) }
    }

    public func write(bufferPointer buf: UnsafeRawBufferPointer) throws {
        digester.update(bufferPointer: buf)
        var off = 0
        while off < buf.count {
            let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw OCIError.layout(path: store.path, reason: "write failed: \(String(cString: strerror(errno)))")
            }
            off += n
        }
    }

    /// Verifies and publishes the blob. Throws (and removes the temporary file) on a digest or size mismatch.
    @discardableResult
    public func commit(expected: Digest?, expectedSize: Int64?, context: String = "blob") throws -> Digest {
        defer { finished = true }
        close(fd); fd = -1
        let actual = digester.finalize()
        if let expected, expected != actual {
            unlink(tmpPath)
            throw OCIError.digestMismatch(expected: expected.description, actual: actual.description, context: context)
        }
        if let expectedSize, expectedSize != digester.count {
            unlink(tmpPath)
            throw OCIError.sizeMismatch(expected: expectedSize, actual: digester.count, context: context)
        }
        if store.hasBlob(actual) { unlink(tmpPath); return actual }
        guard rename(tmpPath, store.blobPath(actual)) == 0 else {
            unlink(tmpPath)
            throw OCIError.layout(path: store.path, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
        return actual
    }

    /// Abandons the write, removing the temporary file.
    public func abort() {
        if fd >= 0 { close(fd); fd = -1 }
        if !finished { unlink(tmpPath); finished = true }
    }

    deinit { abort() }
}
