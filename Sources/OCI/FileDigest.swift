import Crypto
#if canImport(Glibc)
import Glibc
#endif

extension Digest {
    /// The SHA-256 digest and size of the file at `path`, read in 4 MiB pieces so a file of any size is
    /// hashed in constant memory. `advance` hears each piece's byte count (for progress). This is the one
    /// file hasher: package checksums, media checksums, image blob checks and fetched files all use it.
    public static func sha256(file path: String, advance: (Int64) -> Void = { _ in }) throws(OCIError) -> (digest: Digest, size: Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .file(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let pieceSize = 4 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: pieceSize, alignment: 4096)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var total: Int64 = 0
        while true {
            let n = read(fd, buffer, pieceSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw .file(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: n))
            total += Int64(n)
            advance(Int64(n))
        }
        return (Digest(unchecked: hasher.finalize().hexString), total)
    }
}
