import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes files so that a reader never sees half of one: data goes to a temporary name in the same
/// directory, is fsynced, then renamed over the destination. A failure removes the temporary file.
public enum AtomicFile {
    public enum Failure: Error, CustomStringConvertible {
        case exists(String)
        case io(String, String)
        public var description: String {
            switch self {
            case .exists(let p): return "\(p) already exists (use --force to overwrite)"
            case .io(let p, let why): return "cannot write \(p): \(why)"
            }
        }
    }

    /// A unique temporary path beside `path` (same directory, so rename is atomic).
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        return dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Writes `data` to `path` atomically with the given permissions.
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o644, overwrite: Bool = true) throws {
        if !overwrite, FileManager.default.fileExists(atPath: path) { throw Failure.exists(path) }
        try writeVia(path: path, mode: mode, overwrite: overwrite) { tmp in
            let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
            guard fd >= 0 else { throw Failure.io(path, String(cString: strerror(errno))) }
            defer { close(fd) }
            fchmod(fd, mode)
            try data.withUnsafeBytes { buf in
                var off = 0
                while off < buf.count {
                    let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw Failure.io(path, String(cString: strerror(errno)))
                    }
                    off += n
                }
            }
            guard fsync(fd) == 0 else { throw Failure.io(path, String(cString: strerror(errno))) }
        }
    }

    /// Runs `produce` to fill a temporary file, then renames it to `path`. The temporary file is
    /// removed if `produce` throws, so nothing half-written is ever left at `path`.
    public static func writeVia(path: String, mode: mode_t = 0o644, overwrite: Bool = true,
                                _ produce: (String) throws -> Void) throws {
        if !overwrite, FileManager.default.fileExists(atPath: path) { throw Failure.exists(path) }
        let tmp = temporaryPath(for: path)
        do {
            try produce(tmp)
            chmod(tmp, mode)
            guard rename(tmp, path) == 0 else { throw Failure.io(path, String(cString: strerror(errno))) }
        } catch {
            unlink(tmp)
            throw error
        }
    }

    /// Async variant of `writeVia` for producers that do network or concurrent work.
    public static func writeVia(path: String, mode: mode_t = 0o644, overwrite: Bool = true,
                                _ produce: (String) async throws -> Void) async throws {
        if !overwrite, FileManager.default.fileExists(atPath: path) { throw Failure.exists(path) }
        let tmp = temporaryPath(for: path)
        do {
            try await produce(tmp)
            chmod(tmp, mode)
            guard rename(tmp, path) == 0 else { throw Failure.io(path, String(cString: strerror(errno))) }
        } catch {
            unlink(tmp)
            throw error
        }
    }
}
