import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Split packages (`--max-package-size`): `<file>.part001…partNNN` hold the bytes and `<file>.part000`
/// holds `{"Sha256Sum":"<hex of the whole file>","Bytes":<size>,"Count":<data parts>}`, as Zarf writes.
public enum SplitPackage {
    /// The `.part000` record.
    public struct Record: Codable, Sendable, Equatable {
        public var Sha256Sum: String
        public var Bytes: Int64
        public var Count: Int

        /// Zarf's bytes: compact JSON in field order Sha256Sum, Bytes, Count.
        public var json: Data { Data("{\"Sha256Sum\":\"\(Sha256Sum)\",\"Bytes\":\(Bytes),\"Count\":\(Count)}".utf8) }
    }

    public static let maxParts = 999

    /// The path of part `n` of `file`.
    public static func partPath(_ file: String, _ n: Int) -> String { file + String(format: ".part%03d", n) }

    /// Whether `path` names a `.part000` file.
    public static func isSplit(_ path: String) -> Bool { path.hasSuffix(".part000") }

    /// Splits `file` (in `work`) into parts named after `destination`, writing them under temporary
    /// names first and renaming them into place only when all are written. Returns the `.part000` path.
    static func split(file: String, into destination: String, chunkSize: Int64, work: String) throws -> String {
        let size = PackageWriter.fileSize(file)
        let count = Int((size + chunkSize - 1) / chunkSize)
        guard count <= maxParts else {
            throw PackagingError.splitPackage(path: destination, message: "\(count) parts needed but at most \(maxParts) are allowed: raise --max-package-size")
        }
        let input = open(file, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw PackagingError.io(path: file, message: String(cString: strerror(errno))) }
        defer { close(input) }
        var hasher = SHA256()
        let bufSize = 1 << 20
        let buf = UnsafeMutableRawPointer.allocate(byteCount: bufSize, alignment: 16)
        defer { buf.deallocate() }
        var temps: [(String, String)] = []
        for n in 1...count {
            let tmp = work + String(format: "/part%03d", n)
            let out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard out >= 0 else { throw PackagingError.io(path: tmp, message: String(cString: strerror(errno))) }
            var remaining = chunkSize
            while remaining > 0 {
                let n = read(input, buf, Int(min(Int64(bufSize), remaining)))
                if n < 0 { if errno == EINTR { continue }; close(out); throw PackagingError.io(path: file, message: String(cString: strerror(errno))) }
                if n == 0 { break }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buf, count: n))
                try writeAll(out, UnsafeRawBufferPointer(start: buf, count: n), path: tmp)
                remaining -= Int64(n)
            }
            fsync(out)
            close(out)
            temps.append((tmp, partPath(destination, n)))
        }
        let record = Record(Sha256Sum: hasher.finalize().map { String(format: "%02x", $0) }.joined(), Bytes: size, Count: count)
        let tmp0 = work + "/part000"
        try record.json.write(to: URL(fileURLWithPath: tmp0))
        temps.append((tmp0, partPath(destination, 0)))
        for (from, to) in temps {
            guard rename(from, to) == 0 else {
                for (_, placed) in temps { unlink(placed) }
                throw PackagingError.io(path: to, message: String(cString: strerror(errno)))
            }
        }
        return partPath(destination, 0)
    }

    static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer, path: String) throws {
        var off = 0
        while off < buf.count {
            let n = write(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0 { if errno == EINTR { continue }; throw PackagingError.io(path: path, message: String(cString: strerror(errno))) }
            off += n
        }
    }

    /// Reads and checks a split package's record and parts without reassembling them: every part must
    /// exist, no extra part may follow, the sizes must add up and the SHA-256 of the concatenation must
    /// match. Returns the data part paths in order.
    public static func verifyParts(part000 path: String) throws -> (record: Record, parts: [String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PackagingError.splitPackage(path: path, message: "cannot read the .part000 record")
        }
        guard let record = try? JSONDecoder().decode(Record.self, from: data) else {
            throw PackagingError.splitPackage(path: path, message: "the .part000 record is not {\"Sha256Sum\",\"Bytes\",\"Count\"} JSON")
        }
        guard record.Count >= 1, record.Count <= maxParts else {
            throw PackagingError.splitPackage(path: path, message: "Count \(record.Count) is out of range")
        }
        let base = String(path.dropLast(".part000".count))
        var parts: [String] = []
        var total: Int64 = 0
        for n in 1...record.Count {
            let p = partPath(base, n)
            guard FileManager.default.fileExists(atPath: p) else {
                throw PackagingError.splitPackage(path: p, message: "part \(n) of \(record.Count) is missing")
            }
            parts.append(p)
            total += PackageWriter.fileSize(p)
        }
        if FileManager.default.fileExists(atPath: partPath(base, record.Count + 1)) {
            throw PackagingError.splitPackage(path: partPath(base, record.Count + 1), message: "more parts than the record's Count \(record.Count)")
        }
        guard total == record.Bytes else {
            throw PackagingError.splitPackage(path: path, message: "the parts hold \(total) bytes but the record says \(record.Bytes)")
        }
        var hasher = SHA256()
        let bufSize = 1 << 20
        let buf = UnsafeMutableRawPointer.allocate(byteCount: bufSize, alignment: 16)
        defer { buf.deallocate() }
        for p in parts {
            let fd = open(p, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw PackagingError.io(path: p, message: String(cString: strerror(errno))) }
            defer { close(fd) }
            while true {
                let n = read(fd, buf, bufSize)
                if n < 0 { if errno == EINTR { continue }; throw PackagingError.io(path: p, message: String(cString: strerror(errno))) }
                if n == 0 { break }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buf, count: n))
            }
        }
        let hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        guard hex == record.Sha256Sum.lowercased() else {
            throw PackagingError.splitPackage(path: path, message: "the parts' SHA-256 is \(hex) but the record says \(record.Sha256Sum): a part is damaged or from another package")
        }
        return (record, parts)
    }
}
