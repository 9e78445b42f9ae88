import Foundation
import OCI
import Testing
import TestSupport

/// `Digest.sha256(file:)`, the one streaming file hasher: the same digest as hashing the bytes at once and
/// as `sha256sum`, across its 4 MiB read boundary, with progress adding up to the size, and an error that
/// names a file it cannot read.
@Suite struct FileDigestTests {
    @Test(arguments: [0, 1, 4 << 20, (4 << 20) + 1, 9_000_001])
    func digestAndSizeMatchTheBytes(size: Int) async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/file"
            let bytes = try #require(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: size)
            try bytes.write(to: URL(fileURLWithPath: path))
            var heard: Int64 = 0
            let (digest, counted) = try Digest.sha256(file: path) { heard += $0 }
            #expect(digest == Digest.sha256(bytes))
            #expect(counted == Int64(size))
            #expect(heard == Int64(size))
            let sum = try ProcessRunner.run("sha256sum", [path]).out.split(separator: " ").first.map(String.init)
            #expect(sum == digest.hex)
        }
    }

    @Test func anUnreadableFileIsNamed() async throws {
        try await withTemporaryDirectory { dir in
            #expect(throws: OCIError.file(path: dir + "/absent", reason: "No such file or directory")) {
                try Digest.sha256(file: dir + "/absent")
            }
            // A directory opens but cannot be read.
            #expect(throws: OCIError.file(path: dir, reason: "Is a directory")) { try Digest.sha256(file: dir) }
        }
    }
}
