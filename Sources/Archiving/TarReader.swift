import CArchive
import Foundation

/// Reads tar archives (plain, gzip or zstd: libarchive detects the filter) one entry at a time, so a
/// multi-gigabyte package is never held in memory. Entry names are checked for path safety.
public final class TarReader {
    private let archive: OpaquePointer
    public let path: String
    private var done = false

    /// One entry header; the data is read with `readData` / `copyData` before the next `next()`.
    public struct Entry: Sendable {
        public let name: String
        public let size: Int64
        public let isDirectory: Bool
        public let isRegularFile: Bool
        public let isSymlink: Bool
        public let mode: UInt32
        /// The target of a symbolic link (nil for other entries).
        public var linkTarget: String? = nil
    }

    public init(path: String) throws {
        self.path = path
        guard let a = archive_read_new() else { throw ArchiveError.libarchive("archive_read_new failed", context: path) }
        archive = a
        archive_read_support_filter_all(a)
        archive_read_support_format_tar(a)
        archive_read_support_format_gnutar(a)
        guard archive_read_open_filename(a, path, 1 << 20) == ARCHIVE_OK else {
            let msg = archive_error_string(a).map { String(cString: $0) } ?? "cannot open"
            // No archive_read_free here: the object is fully initialised, so deinit frees the handle.
            throw ArchiveError.libarchive(msg, context: path)
        }
    }

    /// Reads the concatenation of several files as one archive (split packages), without joining them on disk.
    public init(paths: [String]) throws {
        precondition(!paths.isEmpty)
        self.path = paths[0]
        guard let a = archive_read_new() else { throw ArchiveError.libarchive("archive_read_new failed", context: paths[0]) }
        archive = a
        archive_read_support_filter_all(a)
        archive_read_support_format_tar(a)
        archive_read_support_format_gnutar(a)
        var cStrings: [UnsafeMutablePointer<CChar>?] = paths.map { strdup($0) } + [nil]
        defer { for p in cStrings { free(p) } }
        let rc = cStrings.withUnsafeMutableBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buf.count) {
                archive_read_open_filenames(a, $0, 1 << 20)
            }
        }
        guard rc == ARCHIVE_OK else {
            let msg = archive_error_string(a).map { String(cString: $0) } ?? "cannot open"
            // deinit frees the handle (the object is fully initialised).
            throw ArchiveError.libarchive(msg, context: paths[0])
        }
    }

    deinit { archive_read_free(archive) }

    private func error() -> ArchiveError {
        let msg = archive_error_string(archive).map { String(cString: $0) } ?? "read error"
        if msg.lowercased().contains("truncated") || msg.lowercased().contains("unexpected end") { return .truncated(path) }
        return .libarchive(msg, context: path)
    }

    /// The next entry, or nil at the end of the archive.
    public func next() throws -> Entry? {
        guard !done else { return nil }
        var e: OpaquePointer?
        let rc = archive_read_next_header(archive, &e)
        if rc == ARCHIVE_EOF { done = true; return nil }
        guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let entry = e else { throw error() }
        let name = archive_entry_pathname_utf8(entry).map { String(cString: $0) }
            ?? archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
        let type = archive_entry_filetype(entry)
        let isSymlink = type == 0o120000
        let result = Entry(name: name, size: archive_entry_size(entry), isDirectory: type == 0o040000,
                           isRegularFile: type == 0o100000, isSymlink: isSymlink,
                           mode: UInt32(archive_entry_perm(entry)),
                           linkTarget: isSymlink ? archive_entry_symlink(entry).map { String(cString: $0) } : nil)
        guard Self.isSafe(name) else { throw ArchiveError.unsafePath(name, archive: path) }
        return result
    }

    /// Streams the current entry's data to `body` in chunks.
    public func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let size = 1 << 20
        let buf = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buf.deallocate() }
        while true {
            let n = archive_read_data(archive, buf, size)
            if n < 0 { throw error() }
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(start: buf, count: n))
        }
    }

    /// The current entry's data in memory (for small entries: zarf.yaml, checksums.txt, manifests).
    public func readAll(limit: Int = 64 << 20) throws -> Data {
        var d = Data()
        try readData { b in
            guard d.count + b.count <= limit else { throw ArchiveError.io("entry larger than \(limit) bytes", context: path) }
            d.append(contentsOf: b)
        }
        return d
    }

    /// Writes the current entry to `destination` (created/truncated).
    public func extract(to destination: String) throws {
        let sink = try FileSink(path: destination)
        try readData { try sink.write($0) }
        try sink.finish()
    }

    /// Whether an entry name is safe to extract: relative, no `..` component, no NUL.
    public static func isSafe(_ name: String) -> Bool {
        if name.hasPrefix("/") || name.contains("\0") || name.contains("\\") { return false }
        return !name.split(separator: "/").contains("..")
    }

    /// Extracts every entry under `directory`, refusing unsafe names and symlinks.
    public func extractAll(to directory: String) throws {
        let fm = FileManager.default
        while let e = try next() {
            let dest = directory + "/" + e.name
            if e.isDirectory { try fm.createDirectory(atPath: dest, withIntermediateDirectories: true); continue }
            guard e.isRegularFile else { throw ArchiveError.unsafePath(e.name + " (not a regular file)", archive: path) }
            try fm.createDirectory(atPath: (dest as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try extract(to: dest)
            if e.mode & 0o111 != 0 { chmod(dest, 0o755) }
        }
    }
}
