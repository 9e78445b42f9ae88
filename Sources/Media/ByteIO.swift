#if canImport(Glibc)
import Glibc
#endif

/// Little helpers every format in this module shares: positioned reads and writes that retry short
/// transfers, little/big-endian field encoding into byte arrays, and CRC-32 (GPT).
enum ByteIO {
    static func errnoText() -> String { String(cString: strerror(errno)) }

    /// Writes all of `buffer` at `offset`, retrying short writes and EINTR.
    static func pwriteAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, at offset: UInt64, what: String) throws {
        var done = 0
        while done < buffer.count {
            let n = pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw MediaError.io(what, offset: offset + UInt64(done), reason: errnoText())
            }
            if n == 0 { throw MediaError.io(what, offset: offset + UInt64(done), reason: "device is full") }
            done += n
        }
    }

    static func pwriteAll(_ fd: Int32, _ bytes: [UInt8], at offset: UInt64, what: String) throws {
        try bytes.withUnsafeBytes { try pwriteAll(fd, $0, at: offset, what: what) }
    }

    /// Reads exactly `buffer.count` bytes at `offset`; a short read (end of file) is an error naming the offset.
    static func preadAll(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, what: String) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw MediaError.io(what, offset: offset + UInt64(done), reason: errnoText())
            }
            if n == 0 {
                throw MediaError.corrupt(what, offset: offset + UInt64(done), reason: "unexpected end of image (truncated?)")
            }
            done += n
        }
    }

    static func preadAll(_ fd: Int32, count: Int, at offset: UInt64, what: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try preadAll(fd, $0, at: offset, what: what) }
        return bytes
    }

    /// Size of an open file or block device.
    static func size(of fd: Int32) -> UInt64? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        if (st.st_mode & S_IFMT) == S_IFBLK {
            let end = lseek(fd, 0, SEEK_END)
            return end >= 0 ? UInt64(end) : nil
        }
        return UInt64(st.st_size)
    }

    // MARK: field encoding

    static func put16(_ b: inout [UInt8], _ at: Int, _ v: UInt16) {
        b[at] = UInt8(v & 0xFF); b[at + 1] = UInt8(v >> 8)
    }
    static func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
        for i in 0..<4 { b[at + i] = UInt8((v >> (8 * UInt32(i))) & 0xFF) }
    }
    static func put64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) {
        for i in 0..<8 { b[at + i] = UInt8((v >> (8 * UInt64(i))) & 0xFF) }
    }
    static func put16BE(_ b: inout [UInt8], _ at: Int, _ v: UInt16) {
        b[at] = UInt8(v >> 8); b[at + 1] = UInt8(v & 0xFF)
    }
    static func put32BE(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
        for i in 0..<4 { b[at + i] = UInt8((v >> (8 * UInt32(3 - i))) & 0xFF) }
    }
    static func get16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
    static func get32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }
    static func get64(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(get32(b, at)) | UInt64(get32(b, at + 4)) << 32 }
    static func get32BE(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }
    static func put(_ b: inout [UInt8], _ at: Int, _ ascii: String, width: Int, pad: UInt8 = 0x20) {
        let u = Array(ascii.utf8)
        for i in 0..<width { b[at + i] = i < u.count ? u[i] : pad }
    }

    // MARK: CRC-32 (IEEE 802.3, reflected, as GPT and zlib use)

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        let t = crcTable
        for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

/// Reads a `MediaFileSource` in chunks; `.file` sources are streamed and checked against the size
/// recorded when the volume was planned.
enum SourceReader {
    typealias CopyFileRange = @convention(c) (Int32, UnsafeMutablePointer<Int64>?, Int32, UnsafeMutablePointer<Int64>?, Int, UInt32) -> Int
    /// glibc's `copy_file_range`, looked up at run time because Swift's Glibc module does not import it.
    static let copyFileRange: CopyFileRange? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "copy_file_range") else { return nil }
        return unsafeBitCast(sym, to: CopyFileRange.self)
    }()

    static func size(of source: MediaFileSource, path: String) throws -> UInt64 {
        switch source {
        case .bytes(let b): return UInt64(b.count)
        case .file(let p):
            var st = stat()
            guard stat(p, &st) == 0 else { throw MediaError.sourceFile(p, reason: ByteIO.errnoText()) }
            guard (st.st_mode & S_IFMT) == S_IFREG else {
                throw MediaError.sourceFile(p, reason: "not a regular file (for \(path))")
            }
            return UInt64(st.st_size)
        }
    }

    /// Copies `size` bytes of `source` to `fd` at `offset` through `buffer` (4 MiB sequential reads and
    /// writes). `progress` receives byte counts as they are written.
    static func copy(_ source: MediaFileSource, size: UInt64, path: String, to fd: Int32, at offset: UInt64,
                     buffer: UnsafeMutableRawBufferPointer, kernelCopy allowKernelCopy: Bool = true,
                     progress: (UInt64) -> Void) throws {
        switch source {
        case .bytes(let b):
            try ByteIO.pwriteAll(fd, b, at: offset, what: "writing \(path)")
            progress(UInt64(b.count))
        case .file(let p):
            let src = open(p, O_RDONLY | O_CLOEXEC)
            guard src >= 0 else { throw MediaError.sourceFile(p, reason: ByteIO.errnoText()) }
            defer { close(src) }
            guard ByteIO.size(of: src) == size else {
                throw MediaError.sourceFile(p, reason: "its size changed since the volume was planned (expected \(size) bytes)")
            }
            var done: UInt64 = 0
            // The kernel copies (or reflinks) when it can; any failure falls back to plain reads and writes.
            if allowKernelCopy, let kernelCopy = Self.copyFileRange {
                while done < size {
                    var inOff = Int64(done), outOff = Int64(offset + done)
                    let n = kernelCopy(src, &inOff, fd, &outOff, Int(min(UInt64(1 << 30), size - done)), 0)
                    if n > 0 { done += UInt64(n); progress(UInt64(n)); continue }
                    if n < 0 && errno == EINTR { continue }
                    break
                }
            }
            while done < size {
                let want = Int(min(UInt64(buffer.count), size - done))
                let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want])
                var got = 0
                while got < want {
                    let n = pread(src, chunk.baseAddress! + got, want - got, off_t(done) + off_t(got))
                    if n < 0 { if errno == EINTR { continue }; throw MediaError.sourceFile(p, reason: ByteIO.errnoText()) }
                    if n == 0 { throw MediaError.sourceFile(p, reason: "ended early at byte \(done + UInt64(got)) of \(size)") }
                    got += n
                }
                try ByteIO.pwriteAll(fd, UnsafeRawBufferPointer(chunk), at: offset + done, what: "writing \(path)")
                done += UInt64(want)
                progress(UInt64(want))
            }
        }
    }
}
