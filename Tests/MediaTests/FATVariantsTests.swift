import Foundation
import Testing
import TestSupport
@testable import Media
#if canImport(Glibc)
import Glibc
#endif

/// `FATFileSystemReader` on volumes made by dosfstools and filled by mtools, of every FAT type: FAT12 and
/// FAT16 are what El Torito EFI images (a Talos ISO's among them) usually are. The reader must find the
/// type from the cluster count, the label and volume ID, every file and directory (long names, FAT12/16's
/// fixed root directory with more entries than one sector holds) and every byte.
@Suite(.serialized) struct FATVariantsTests {
    /// (FAT type, image size in KiB): sizes where mkfs.fat makes that type.
    static let variants: [(Int, Int)] = [(12, 2048), (16, 16384), (32, 40960)]

    /// Makes a volume of `type` holding a boot-image-like tree; returns the image path and each file's bytes.
    static func makeVolume(type: Int, kib: Int, in dir: String) throws -> (String, [String: [UInt8]]) {
        let img = dir + "/fat\(type).img"
        try FSTest.run("mkfs.fat", ["-F", "\(type)", "-n", "TALOS_EFI", "-i", "0BADCAFE", "-C", img, "\(kib)"])
        #expect(FileManager.default.fileExists(atPath: img), "mkfs.fat -F \(type) made no image")
        var files: [String: [UInt8]] = [
            "EFI/BOOT/BOOTX64.EFI": FSTest.randomBytes(300_001, seed: UInt64(type)),
            "EFI/Linux/Talos-v1.13.9.efi": FSTest.randomBytes(700_000, seed: UInt64(type) + 1),
            "loader/loader.conf": Array("timeout 10\n".utf8),
            "loader/entries/a rather long entry name.conf": Array("title Talos\n".utf8),
            "empty": [],
        ]
        // More root entries than one 512-byte sector holds (16), to cross sectors of the fixed root region.
        for i in 0..<24 { files["root-file-\(i).txt"] = Array("root \(i)\n".utf8) }
        let staging = dir + "/staging\(type)"
        for (path, bytes) in files {
            let host = staging + "/" + path
            try FileManager.default.createDirectory(atPath: (host as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: host))
        }
        for d in ["EFI", "EFI/BOOT", "EFI/Linux", "loader", "loader/entries"] {
            let r = try FSTest.run("mmd", ["-i", img, "::" + d], env: FSTest.mtoolsEnv)
            #expect(r.status == 0, "mmd \(d): \(r.err)")
        }
        for path in files.keys.sorted() {
            let r = try FSTest.run("mcopy", ["-i", img, staging + "/" + path, "::" + path], env: FSTest.mtoolsEnv)
            #expect(r.status == 0, "mcopy \(path): \(r.err)")
        }
        return (img, files)
    }

    @Test(arguments: variants)
    func readsEveryFileOfAVolumeMadeByDosfstools(type: Int, kib: Int) async throws {
        try await withTemporaryDirectory("fat-variants") { dir in
            let (img, files) = try Self.makeVolume(type: type, kib: kib, in: dir)
            let fsck = try FSTest.run("fsck.fat", ["-n", img])
            #expect(fsck.status == 0, "\(fsck.out)\(fsck.err)")
            let fd = try FSTest.openImage(img)
            defer { close(fd) }
            let reader = try FATFileSystemReader(fd: fd, offset: 0, size: UInt64(kib) * 1024)
            #expect(reader.fatType == type)
            #expect(reader.label == "TALOS_EFI")
            #expect(reader.volumeID == 0x0BAD_CAFE)
            let entries = try reader.entries()
            let dirs = Set(entries.filter(\.isDirectory).map(\.path))
            #expect(dirs == ["EFI", "EFI/BOOT", "EFI/Linux", "loader", "loader/entries"])
            let found = Dictionary(uniqueKeysWithValues: entries.filter { !$0.isDirectory }.map { ($0.path, $0.size) })
            #expect(found == files.mapValues { UInt64($0.count) })
            for (path, bytes) in files { #expect(try FSTest.readAll(reader, path) == bytes, "\(path)") }
            // Case-insensitive lookup, as firmware does.
            #expect(try reader.entry("efi/boot/bootx64.efi").size == 300_001)
        }
    }

    /// A flipped byte in the second FAT of a FAT12 or FAT16 volume is reported at its byte offset.
    @Test(arguments: [(12, 2048), (16, 16384)])
    func aDamagedSecondFATIsNamedByOffset(type: Int, kib: Int) async throws {
        try await withTemporaryDirectory("fat-variants-damage") { dir in
            let (img, _) = try Self.makeVolume(type: type, kib: kib, in: dir)
            let size = UInt64(kib) * 1024
            let fd = try FSTest.openImage(img)
            let clean = try FATFileSystemReader(fd: fd, offset: 0, size: size)
            close(fd)
            #expect(clean.numberOfFATs == 2)
            let at = (clean.reservedSectors + clean.fatSectors) * 512 + 7
            try FSTest.flipByte(img, at: at)
            let fd2 = try FSTest.openImage(img)
            defer { close(fd2) }
            #expect { try FATFileSystemReader(fd: fd2, offset: 0, size: size) } throws: { error in
                guard case MediaError.corrupt(let what, let offset, _) = error else { return false }
                return what == "FAT 2" && offset == at
            }
            #expect(try FSTest.run("fsck.fat", ["-n", img]).status != 0)
        }
    }
}
