import Archiving
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

    /// Moves the parts a `SplittingSink` wrote into place beside `destination`: one part becomes the
    /// whole file (Zarf splits only packages larger than the limit); several become `.part001…` plus
    /// the `.part000` record, renamed only once all are written. Returns the path to hand the user.
    static func place(_ sink: SplittingSink, destination: String, work: String) throws -> String {
        if sink.parts.count == 1 {
            guard rename(sink.parts[0], destination) == 0 else { throw PackagingError.io(path: destination, message: String(cString: strerror(errno))) }
            return destination
        }
        let record = Record(Sha256Sum: sink.sha256Hex, Bytes: sink.totalBytes, Count: sink.parts.count)
        let tmp0 = work + "/part000"
        try record.json.write(to: URL(fileURLWithPath: tmp0))
        var moves = sink.parts.enumerated().map { ($1, partPath(destination, $0 + 1)) }
        moves.append((tmp0, partPath(destination, 0)))
        for (i, (from, to)) in moves.enumerated() {
            guard rename(from, to) == 0 else {
                for (_, placed) in moves.prefix(i) { unlink(placed) }
                throw PackagingError.io(path: to, message: String(cString: strerror(errno)))
            }
        }
        unlink(destination)
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

/// A byte sink that writes the archive straight into parts of at most `chunkSize` bytes (hashing the
/// whole stream as it goes), so splitting a package never needs a second copy of it on disk.
final class SplittingSink: ByteSink {
    let directory: String
    let chunkSize: Int64
    let context: String
    private(set) var parts: [String] = []
    private(set) var totalBytes: Int64 = 0
    private var fd: Int32 = -1
    private var inPart: Int64 = 0
    private var hasher = SHA256()
    private(set) var sha256Hex = ""
    private let syncToDisk: Bool
    private var writeBehind = WriteBehind()

    init(directory: String, chunkSize: Int64, context: String, syncToDisk: Bool) {
        self.syncToDisk = syncToDisk
        self.directory = directory
        self.chunkSize = chunkSize
        self.context = context
    }

    deinit { if fd >= 0 { close(fd) } }

    private func openNext() throws {
        guard parts.count < SplitPackage.maxParts else {
            throw PackagingError.splitPackage(path: context, message: "more than \(SplitPackage.maxParts) parts needed: raise --max-package-size")
        }
        let path = directory + String(format: "/part%03d", parts.count + 1)
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PackagingError.io(path: path, message: String(cString: strerror(errno))) }
        parts.append(path)
        inPart = 0
        writeBehind.reset()
    }

    private func closeCurrent() throws {
        guard fd >= 0 else { return }
        if syncToDisk, fsync(fd) != 0 { throw PackagingError.io(path: parts.last ?? context, message: String(cString: strerror(errno))) }
        close(fd)
        fd = -1
    }

    func write(_ buf: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < buf.count {
            if fd < 0 || inPart == chunkSize {
                try closeCurrent()
                try openNext()
            }
            let n = Int(min(Int64(buf.count - offset), chunkSize - inPart))
            let slice = UnsafeRawBufferPointer(rebasing: buf[offset..<(offset + n)])
            try SplitPackage.writeAll(fd, slice, path: parts.last!)
            hasher.update(bufferPointer: slice)
            inPart += Int64(n)
            if syncToDisk { writeBehind.wrote(fd: fd, size: inPart) }
            totalBytes += Int64(n)
            offset += n
        }
    }

    func finish() throws {
        if parts.isEmpty { try openNext() }
        try closeCurrent()
        sha256Hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
