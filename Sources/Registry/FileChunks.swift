import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// A byte range of a file as an async sequence of 1 MiB `ByteBuffer`s: the body of a blob upload, read
/// as it is sent so a multi-gigabyte layer never sits in memory. Each iteration opens the file afresh,
/// so a retried request can replay the body.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let offset: Int64
    let length: Int64
    var chunkSize: Int = 1 << 20

    func makeAsyncIterator() -> Iterator { Iterator(path: path, offset: offset, remaining: length, chunkSize: chunkSize) }

    final class Iterator: AsyncIteratorProtocol {
        private let path: String
        private var fd: Int32 = -1
        private var position: Int64
        private var remaining: Int64
        private let chunkSize: Int

        init(path: String, offset: Int64, remaining: Int64, chunkSize: Int) {
            self.path = path
            self.position = offset
            self.remaining = remaining
            self.chunkSize = chunkSize
        }

        func next() async throws -> ByteBuffer? {
            guard remaining > 0 else { closeFile(); return nil }
            if fd < 0 {
                fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw RegistryError.store("cannot open \(path): \(String(cString: strerror(errno)))") }
            }
            let want = Int(Swift.min(Int64(chunkSize), remaining))
            var buffer = ByteBufferAllocator().buffer(capacity: want)
            let n = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { ptr -> Int in
                var got = 0
                while got < want {
                    let r = pread(fd, ptr.baseAddress! + got, want - got, off_t(position) + off_t(got))
                    if r < 0 { if errno == EINTR { continue }; throw RegistryError.store("cannot read \(path): \(String(cString: strerror(errno)))") }
                    if r == 0 { break }
                    got += r
                }
                return got
            }
            guard n == want else { throw RegistryError.store("\(path) is shorter than expected (truncated blob?)") }
            position += Int64(n)
            remaining -= Int64(n)
            return buffer
        }

        private func closeFile() { if fd >= 0 { close(fd); fd = -1 } }
        deinit { closeFile() }
    }
}
