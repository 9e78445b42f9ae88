import Foundation
import Testing
import TestSupport
@testable import Media
#if canImport(Glibc)
import Glibc
#endif

/// The file-copy path every writer streams through: kernel copy and the pread/pwrite fallback give the
/// same bytes at the same offset, and a source that changed size since planning is refused.
@Suite struct SourceCopyTests {
    @Test(arguments: [true, false]) func copiesAtOffset(kernelCopy: Bool) async throws {
        try await withTemporaryDirectory("source-copy") { dir in
            let src = dir + "/src.bin"
            let bytes = FSTest.randomBytes((9 << 20) + 17, seed: 11)   // more than two 4 MiB buffers
            try Data(bytes).write(to: URL(fileURLWithPath: src))
            let fd = try FSTest.openImage(dir + "/out.bin")
            defer { close(fd) }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 4096)
            defer { buffer.deallocate() }
            var total: UInt64 = 0
            try SourceReader.copy(.file(path: src), size: UInt64(bytes.count), path: "x", to: fd, at: 4096,
                                  buffer: buffer, kernelCopy: kernelCopy) { total += $0 }
            #expect(total == UInt64(bytes.count))
            let back = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/out.bin")))
            #expect(back.count == 4096 + bytes.count)
            let same = Array(back[4096...]) == bytes
            #expect(same)
            #expect(back[0..<4096].allSatisfy { $0 == 0 })

            #expect { try SourceReader.copy(.file(path: src), size: UInt64(bytes.count) + 1, path: "x", to: fd, at: 0,
                                            buffer: buffer, kernelCopy: kernelCopy) { _ in } } throws: {
                "\($0)".contains(src) && "\($0)".contains("size changed")
            }
        }
    }
}
