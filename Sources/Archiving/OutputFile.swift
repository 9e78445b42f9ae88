import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A sink for bytes: a file descriptor, optionally behind a zstd compressor. Used by `TarWriter`.
public protocol ByteSink: AnyObject {
    func write(_ buf: UnsafeRawBufferPointer) throws
    func finish() throws
}

/// Writes to a file descriptor, looping over short writes. With `syncOnFinish` (the default) writeback
/// to disk starts as the file grows (`WriteBehind`) and `finish` fsyncs.
public final class FileSink: ByteSink {
    public let path: String
    private var fd: Int32
    public private(set) var bytesWritten: Int64 = 0
    private let syncOnFinish: Bool
    private var writeBehind = WriteBehind()

    /// Creates (truncates) `path`.
    public init(path: String, mode: mode_t = 0o644, syncOnFinish: Bool = true) throws {
        self.path = path
        self.syncOnFinish = syncOnFinish
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ArchiveError.io(String(cString: strerror(errno)), context: path) }
    }

    public func write(_ buf: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < buf.count {
            let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw ArchiveError.io(String(cString: strerror(errno)), context: path)
            }
            off += n
        }
        bytesWritten += Int64(buf.count)
        if syncOnFinish { writeBehind.wrote(fd: fd, size: bytesWritten) }
    }

    public func finish() throws {
        guard fd >= 0 else { return }
        defer { close(fd); fd = -1 }
        if syncOnFinish, fsync(fd) != 0 { throw ArchiveError.io(String(cString: strerror(errno)), context: path) }
    }

    deinit { if fd >= 0 { close(fd) } }
}
