import Foundation
import Testing
import TestSupport
@testable import Media
#if canImport(Glibc)
import Glibc
#endif

/// Helpers of the filesystem-format tests (FAT32, GPT, ISO9660): image files, real tools, digests.
enum FSTest {
    /// Environment for mtools: images made by any tool rarely have a size that is a whole number of
    /// tracks, which mtools refuses without this.
    static let mtoolsEnv = ["MTOOLS_SKIP_CHECK": "1"]

    static func openImage(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        return fd
    }

    /// Writes `volume` into a fresh image file of `size` bytes (or its minimum size) and returns the size.
    @discardableResult
    static func writeFAT(_ volume: FAT32Volume, to path: String, size: UInt64? = nil) throws -> UInt64 {
        let fd = try openImage(path)
        defer { close(fd) }
        let s = try size ?? volume.minimumSize()
        try volume.write(to: fd, offset: 0, size: s)
        return s
    }

    @discardableResult
    static func run(_ program: String, _ args: [String], env: [String: String]? = nil) throws -> ProcessResult {
        try ProcessRunner.run(program, args, environment: env)
    }

    /// `sha256sum FILE` (a real, independent implementation).
    static func sha256(file: String) throws -> String {
        let r = try run("sha256sum", [file])
        #expect(r.status == 0, "sha256sum \(file): \(r.err)")
        return String(r.out.prefix(64))
    }

    /// Random bytes from the kernel, written to `path` (`count` bytes).
    static func randomFile(_ path: String, count: Int) throws {
        let r = try run("head", ["-c", "\(count)", "/dev/urandom"])
        try r.stdout.write(to: URL(fileURLWithPath: path))
    }

    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var x = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in x ^= x << 13; x ^= x >> 7; x ^= x << 17; return UInt8(truncatingIfNeeded: x) }
    }

    static func flipByte(_ path: String, at offset: UInt64) throws {
        let fd = try openImage(path)
        defer { close(fd) }
        var b: UInt8 = 0
        #expect(pread(fd, &b, 1, off_t(offset)) == 1)
        b ^= 0xFF
        #expect(pwrite(fd, &b, 1, off_t(offset)) == 1)
    }

    static func copyFile(_ from: String, _ to: String) throws {
        try? FileManager.default.removeItem(atPath: to)
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }

    /// Everything a reader streams for one file.
    static func readAll(_ reader: FATFileSystemReader, _ path: String) throws -> [UInt8] {
        var out: [UInt8] = []
        try reader.readFile(path) { out += $0 }
        return out
    }
}
