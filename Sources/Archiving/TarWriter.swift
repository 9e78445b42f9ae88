import CArchive
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes reproducible tar archives with libarchive: entries get mtime 0, uid/gid 0, no user or group
/// names, and fixed permissions, so the same inputs give the same bytes. The caller adds entries in the
/// order it wants them (Zarf's layout: sorted by name).
public final class TarWriter {
    private let archive: OpaquePointer
    private let sinkBox: SinkBox
    private let context: String
    private var closed = false

    final class SinkBox { let sink: ByteSink; var error: Error?; init(_ s: ByteSink) { sink = s } }

    /// A tar writer over `sink` (a file, or zstd in front of a file). Format: POSIX pax (ustar headers
    /// for short names).
    /// `gzip` adds libarchive's gzip filter with no timestamp or name in the header (reproducible `.tgz`).
    public init(sink: ByteSink, context: String, gzip: Bool = false) throws {
        guard let a = archive_write_new() else { throw ArchiveError.libarchive("archive_write_new failed", context: context) }
        archive = a
        self.context = context
        sinkBox = SinkBox(sink)
        archive_write_set_format_pax_restricted(a)
        if gzip {
            archive_write_add_filter_gzip(a)
            archive_write_set_filter_option(a, "gzip", "timestamp", nil)
        }
        // Large blocks: libarchive hands the sink one call per block, and 10 KB calls into zstd were a
        // measurable share of writing a package. The bytes do not change: the last block is not padded.
        archive_write_set_bytes_per_block(a, 1 << 20)
        archive_write_set_bytes_in_last_block(a, 1)
        let ctx = Unmanaged.passUnretained(sinkBox).toOpaque()
        let rc = archive_write_open(a, ctx, nil, { _, ctx, buf, len -> Int in
            let box = Unmanaged<SinkBox>.fromOpaque(ctx!).takeUnretainedValue()
            do { try box.sink.write(UnsafeRawBufferPointer(start: buf, count: len)); return len } catch {
                box.error = error
                return -1
            }
        }, nil)
        guard rc == ARCHIVE_OK else { throw lastError() }
    }

    /// Convenience: a tar file at `path`, zstd-compressed if `zstd`.
    public convenience init(path: String, zstd: Bool, level: Int32 = 3) throws {
        let file = try FileSink(path: path)
        let sink: ByteSink = zstd ? try ZstdSink(next: file, level: level, context: path) : file
        try self.init(sink: sink, context: path)
    }

    deinit {
        if !closed { archive_write_free(archive) }
    }

    private func lastError() -> Error {
        if let e = sinkBox.error { return e }
        let msg = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        return ArchiveError.libarchive(msg, context: context)
    }

    private func header(_ name: String, size: Int64, type: UInt32, perm: mode_t) throws {
        let entry = archive_entry_new()
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname_utf8(entry, name)
        archive_entry_set_size(entry, size)
        archive_entry_set_filetype(entry, type)
        archive_entry_set_perm(entry, perm)
        archive_entry_set_mtime(entry, 0, 0)
        archive_entry_set_uid(entry, 0)
        archive_entry_set_gid(entry, 0)
        guard archive_write_header(archive, entry) == ARCHIVE_OK else { throw lastError() }
    }

    /// Adds a directory entry (`name` without trailing slash).
    public func addDirectory(_ name: String) throws {
        try header(name, size: 0, type: 0o040000, perm: 0o755)
        archive_write_finish_entry(archive)
    }

    /// Adds a regular file from memory.
    public func addFile(_ name: String, data: Data, perm: mode_t = 0o644) throws {
        try header(name, size: Int64(data.count), type: 0o100000, perm: perm)
        try data.withUnsafeBytes { try writeData($0) }
        archive_write_finish_entry(archive)
    }

    /// Adds a regular file streamed from disk (never held in memory whole). `onBytes` reports progress.
    public func addFile(_ name: String, fromPath source: String, perm: mode_t = 0o644,
                        onBytes: ((Int64) -> Void)? = nil) throws {
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError.io(String(cString: strerror(errno)), context: source) }
        defer { Glibc.close(fd) }
        var st = stat()
        fstat(fd, &st)
        try header(name, size: Int64(st.st_size), type: 0o100000, perm: perm)
        let bufSize = 1 << 20
        let buf = UnsafeMutableRawPointer.allocate(byteCount: bufSize, alignment: 16)
        defer { buf.deallocate() }
        var total: Int64 = 0
        while true {
            let n = read(fd, buf, bufSize)
            if n < 0 { if errno == EINTR { continue }; throw ArchiveError.io(String(cString: strerror(errno)), context: source) }
            if n == 0 { break }
            try writeData(UnsafeRawBufferPointer(start: buf, count: n))
            total += Int64(n)
            onBytes?(Int64(n))
        }
        guard total == Int64(st.st_size) else { throw ArchiveError.io("file changed size while archiving", context: source) }
        archive_write_finish_entry(archive)
    }

    private func writeData(_ buf: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < buf.count {
            let n = archive_write_data(archive, buf.baseAddress! + off, buf.count - off)
            if n < 0 { throw lastError() }
            off += n
        }
    }

    /// Finishes the archive (end-of-archive blocks, compressor flush, fsync).
    public func close() throws {
        guard !closed else { return }
        closed = true
        let rc = archive_write_close(archive)
        archive_write_free(archive)
        guard rc == ARCHIVE_OK else {
            if let e = sinkBox.error { throw e }
            throw ArchiveError.libarchive("closing the archive failed", context: context)
        }
        try sinkBox.sink.finish()
    }
}

extension TarWriter {
    /// Adds a directory tree from disk under `prefix`, entries sorted by name, directories included.
    public func addTree(at root: String, prefix: String) throws {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: root) else { throw ArchiveError.io("cannot read directory", context: root) }
        var rels: [String] = []
        while let rel = walker.nextObject() as? String { rels.append(rel) }
        for rel in rels.sorted() {
            let full = root + "/" + rel
            var isDir: ObjCBool = false
            _ = fm.fileExists(atPath: full, isDirectory: &isDir)
            let name = prefix.isEmpty ? rel : prefix + "/" + rel
            if isDir.boolValue { try addDirectory(name) } else {
                let executable = fm.isExecutableFile(atPath: full)
                try addFile(name, fromPath: full, perm: executable ? 0o755 : 0o644)
            }
        }
    }
}
