import Archiving
import Foundation
import Testing
import TestSupport

/// Package bytes must not depend on the machine's core count: the zstd sink's output is the same for 1, 2
/// and 4 workers, and the `zstd` command line tool decompresses it to the input.
@Suite struct ZstdReproducibilityTests {
    @Test func sameBytesForAnyWorkerCount() async throws {
        try await withTemporaryDirectory { dir in
            // ~24 MB: compressible text and random bytes, enough for several multithreaded jobs.
            var input = Data()
            for i in 0..<200_000 { input.append(contentsOf: "line \(i) of the reproducibility input\n".utf8) }
            input.append(Fixtures.randomData(16_000_000, seed: 7))
            var digests: [String] = []
            for workers: Int32 in [1, 2, 4] {
                let path = dir + "/out-\(workers).zst"
                let zstd = try ZstdSink(next: try FileSink(path: path), level: 3, workers: workers, context: path)
                try input.withUnsafeBytes { buf in
                    var off = 0
                    while off < buf.count {  // in uneven pieces, as a tar writer feeds it
                        let n = min(777_777, buf.count - off)
                        try zstd.write(UnsafeRawBufferPointer(rebasing: buf[off..<(off + n)]))
                        off += n
                    }
                }
                try zstd.finish()
                digests.append(try ProcessRunner.run("sha256sum", [path], check: true).out.prefix(64).description)
            }
            #expect(Set(digests).count == 1, "\(digests)")
            try ProcessRunner.run("zstd", ["-q", "-d", dir + "/out-2.zst", "-o", dir + "/back"], check: true)
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/back")) == input)
        }
    }
}
