import Foundation
import Testing
import TestSupport
@testable import Media
#if canImport(Glibc)
import Glibc
#endif

/// FAT32 volumes written by `FAT32Volume`, checked with dosfstools, mtools, blkid and our reader.
@Suite(.serialized) struct FAT32Tests {
    @Test func emptyVolumeAtMinimumSizeIsCleanAndLabelled() async throws {
        try await withTemporaryDirectory("fat-empty") { dir in
            let img = dir + "/empty.img"
            let volume = try FAT32Volume(label: "EMPTY", volumeID: 0x1234_ABCD, files: [])
            let size = try FSTest.writeFAT(volume, to: img)
            #expect(size % 512 == 0)
            #expect(size < 40 << 20, "an empty FAT32 volume needs ~33 MiB, got \(size)")
            let fsck = try FSTest.run("fsck.fat", ["-n", "-v", img])
            #expect(fsck.status == 0, "\(fsck.out)\(fsck.err)")
            #expect(fsck.out.contains("65525") || fsck.out.contains("Data area"), "\(fsck.out)")
            let blkid = try FSTest.run("blkid", ["-p", img])
            #expect(blkid.out.contains("TYPE=\"vfat\""), "\(blkid.out)")
            #expect(blkid.out.contains("LABEL=\"EMPTY\""), "\(blkid.out)")
            #expect(blkid.out.contains("VERSION=\"FAT32\""), "\(blkid.out)")
            #expect(blkid.out.contains("UUID=\"1234-ABCD\""), "\(blkid.out)")
            let fd = try FSTest.openImage(img)
            defer { close(fd) }
            let reader = try FATFileSystemReader(fd: fd, offset: 0, size: size)
            #expect(reader.label == "EMPTY")
            #expect(try reader.entries().isEmpty)
            #expect(reader.clusterCount >= 65525)
        }
    }

    /// Many small files in nested directories, long and colliding names, sizes at cluster boundaries.
    @Test func nestedLongNamesAndClusterBoundaries() async throws {
        try await withTemporaryDirectory("fat-tree") { dir in
            var files: [MediaFile] = []
            var expected: [String: [UInt8]] = [:]
            func add(_ path: String, _ bytes: [UInt8]) { files.append(MediaFile(path: path, source: .bytes(bytes))); expected[path] = bytes }
            for i in 0..<300 { add("imagecache/blob/sha256-\(String(repeating: "ab", count: 8))\(i)", FSTest.randomBytes(i * 7 + 1, seed: UInt64(i))) }
            add("EFI/BOOT/BOOTX64.EFI", FSTest.randomBytes(5000, seed: 1))
            add("loader/entries/talos.conf", Array("title Talos\n".utf8))
            add("config.yaml", Array("version: v1alpha1\n".utf8))
            add("config.yml", Array("other\n".utf8))
            add("Config Long Name With Spaces.txt", [1, 2, 3])
            add("grüße/ünïcødé-名前.bin", [9, 9])
            add("a.b.c.d", [4])
            add("empty", [])
            add("thirteen-char", [13])                    // LFN entries exactly full: no terminator
            add("twenty-six-characters-long", [26])
            add("UPPER.TXT", [0x55])                       // a real 8.3 name: no LFN entries
            add("upper.txt2", [0x75])
            add("sizes/exactly-one-cluster", FSTest.randomBytes(512, seed: 2))
            add("sizes/exactly-two-clusters", FSTest.randomBytes(1024, seed: 3))
            add("sizes/one-byte-over", FSTest.randomBytes(513, seed: 4))
            add("sizes/one-byte-under", FSTest.randomBytes(511, seed: 5))
            add("deep/a/b/c/d/e/f/g/h/file-with-a-rather-long-name-that-needs-several-lfn-entries.json", Array("{}".utf8))
            let img = dir + "/tree.img"
            let volume = try FAT32Volume(label: "TALOS_DATA", volumeID: 42, files: files)
            let size = try FSTest.writeFAT(volume, to: img)

            let fsck = try FSTest.run("fsck.fat", ["-n", "-v", img])
            #expect(fsck.status == 0, "\(fsck.out)\(fsck.err)")
            #expect(!fsck.out.lowercased().contains("differ"), "\(fsck.out)")

            let mdir = try FSTest.run("mdir", ["-i", img, "-/", "-b", "::/"], env: FSTest.mtoolsEnv)
            #expect(mdir.status == 0, "\(mdir.err)")
            let listed = Set(mdir.out.split(separator: "\n").map { String($0.dropFirst(2)) })   // "::/path"
            for path in expected.keys { #expect(listed.contains("/" + path), "mdir does not list \(path)") }
            for path in ["config.yaml", "Config Long Name With Spaces.txt", "grüße/ünïcødé-名前.bin", "sizes/one-byte-over",
                         "deep/a/b/c/d/e/f/g/h/file-with-a-rather-long-name-that-needs-several-lfn-entries.json", "empty"] {
                let r = try FSTest.run("mtype", ["-i", img, "::/" + path], env: FSTest.mtoolsEnv)
                #expect(r.status == 0, "mtype \(path): \(r.err)")
                let same = Array(r.stdout) == expected[path]
                #expect(same, "mtype \(path) returned different bytes")
            }

            let fd = try FSTest.openImage(img)
            defer { close(fd) }
            let reader = try FATFileSystemReader(fd: fd, offset: 0, size: size)
            #expect(reader.label == "TALOS_DATA")
            let entries = try reader.entries()
            let filesRead = Dictionary(uniqueKeysWithValues: entries.filter { !$0.isDirectory }.map { ($0.path, $0.size) })
            #expect(filesRead.count == expected.count)
            for (path, bytes) in expected {
                #expect(filesRead[path] == UInt64(bytes.count), "\(path)")
                let same = try FSTest.readAll(reader, path) == bytes
                #expect(same, "\(path)")
            }
            #expect(entries.contains { $0.path == "deep/a/b/c" && $0.isDirectory })
            // The short-name space: every generated 8.3 name is unique (mdir prints short names first).
            let shortList = try FSTest.run("mdir", ["-i", img, "::/imagecache/blob"], env: FSTest.mtoolsEnv)
            let shortNames = shortList.out.split(separator: "\n").filter { $0.hasPrefix("SHA2") }.map { String($0.prefix(12)) }
            #expect(shortNames.count == 300 && Set(shortNames).count == 300, "\(shortList.out.prefix(2000))")
        }
    }

    /// A few hundred MB of random bytes from a host file (4 KiB clusters), copied back out with mcopy.
    @Test func largeFileStreamsAndReadsBack() async throws {
        try await withTemporaryDirectory("fat-large") { dir in
            let big = dir + "/big.bin"
            try FSTest.randomFile(big, count: 300_000_123)
            let files = [
                MediaFile(path: "outpost/packages/big.bin", source: .file(path: big)),
                MediaFile(path: "four-k", source: .bytes(FSTest.randomBytes(4096, seed: 7))),
                MediaFile(path: "eight-k-minus-one", source: .bytes(FSTest.randomBytes(8191, seed: 8))),
            ]
            let volume = try FAT32Volume(label: "BIG", volumeID: 7, files: files)
            let img = dir + "/big.img"
            var progressed: UInt64 = 0
            let fd = try FSTest.openImage(img)
            let size = try volume.minimumSize() + (8 << 20)
            try volume.write(to: fd, offset: 0, size: size) { progressed = $0 }
            close(fd)
            #expect(progressed == 300_000_123 + 4096 + 8191)
            let fsck = try FSTest.run("fsck.fat", ["-n", "-v", img])
            #expect(fsck.status == 0, "\(fsck.out)\(fsck.err)")
            #expect(fsck.out.contains("4096 bytes per cluster"), "\(fsck.out)")
            let out = dir + "/out.bin"
            let mcopy = try FSTest.run("mcopy", ["-i", img, "::/outpost/packages/big.bin", out], env: FSTest.mtoolsEnv)
            #expect(mcopy.status == 0, "\(mcopy.err)")
            #expect(try FSTest.sha256(file: out) == FSTest.sha256(file: big))

            let rfd = try FSTest.openImage(img)
            defer { close(rfd) }
            let reader = try FATFileSystemReader(fd: rfd, offset: 0, size: size)
            let back = dir + "/back.bin"
            _ = FileManager.default.createFile(atPath: back, contents: nil)
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: back))
            try reader.readFile("outpost/packages/big.bin") { h.write(Data($0)) }
            try h.close()
            #expect(try FSTest.sha256(file: back) == FSTest.sha256(file: big))
        }
    }

    @Test func sameInputsGiveSameBytes() async throws {
        try await withTemporaryDirectory("fat-repro") { dir in
            let files = (0..<40).map { MediaFile(path: "d\($0 % 4)/File number \($0).txt", source: .bytes(FSTest.randomBytes($0 * 100, seed: UInt64($0)))) }
            let a = try FAT32Volume(label: "SAME", volumeID: 1, files: files)
            let b = try FAT32Volume(label: "SAME", volumeID: 1, files: files.reversed())
            try FSTest.writeFAT(a, to: dir + "/a.img")
            try FSTest.writeFAT(b, to: dir + "/b.img")
            #expect(try FSTest.sha256(file: dir + "/a.img") == FSTest.sha256(file: dir + "/b.img"))
        }
    }

    @Test func readerNamesTheOffsetOfDamage() async throws {
        try await withTemporaryDirectory("fat-damage") { dir in
            let volume = try FAT32Volume(label: "DAMAGE", volumeID: 3, files: [MediaFile(path: "x.txt", source: .bytes([1, 2, 3]))])
            let img = dir + "/good.img"
            let size = try FSTest.writeFAT(volume, to: img)

            let bootFlip = dir + "/boot.img"
            try FSTest.copyFile(img, bootFlip)
            try FSTest.flipByte(bootFlip, at: 100)   // boot code: only the backup comparison can see it
            let fd1 = try FSTest.openImage(bootFlip)
            defer { close(fd1) }
            #expect { try FATFileSystemReader(fd: fd1, offset: 0, size: size) } throws: { error in
                guard case MediaError.corrupt(let what, let offset, _) = error else { return false }
                return what.contains("boot sector") && offset == 100
            }

            // FAT 2 starts after 32 reserved sectors and FAT 1.
            let fatSectors = UInt64(FAT32Volume.geometry(totalSectors: size / 512).fatSectors)
            let fatFlip = dir + "/fat.img"
            try FSTest.copyFile(img, fatFlip)
            let at = 32 * 512 + fatSectors * 512 + 12
            try FSTest.flipByte(fatFlip, at: at)
            let fd2 = try FSTest.openImage(fatFlip)
            defer { close(fd2) }
            #expect { try FATFileSystemReader(fd: fd2, offset: 0, size: size) } throws: { error in
                guard case MediaError.corrupt(let what, let offset, _) = error else { return false }
                return what == "FAT 2" && offset == at && "\(error)".contains("\(at)")
            }
            // fsck.fat agrees that the damaged images are not clean.
            #expect(try FSTest.run("fsck.fat", ["-n", fatFlip]).status != 0)
        }
    }

    @Test func badInputGetsClearErrors() async throws {
        #expect(throws: MediaError.invalidField("FAT volume label", value: "talos_data",
                                                reason: "lowercase letters are not allowed (use TALOS_DATA)")) {
            try FAT32Volume(label: "talos_data", volumeID: 0, files: [])
        }
        #expect { try FAT32Volume(label: "TWELVE_CHARS", volumeID: 0, files: []) } throws: { "\($0)".contains("at most 11") }
        #expect { try FAT32Volume(label: "A", volumeID: 0, files: [MediaFile(path: "a:b", source: .bytes([]))]) } throws: {
            "\($0)".contains("a:b") && "\($0)".contains("':'")
        }
        #expect { try FAT32Volume(label: "A", volumeID: 0, files: [MediaFile(path: "Dir/x", source: .bytes([])), MediaFile(path: "DIR/X", source: .bytes([]))]) } throws: {
            "\($0)".contains("DIR/X") && "\($0)".contains("case")
        }
        #expect { try FAT32Volume(label: "A", volumeID: 0, files: [MediaFile(path: "a//b", source: .bytes([]))]) } throws: { "\($0)".contains("empty path component") }
        #expect { try FAT32Volume(label: "A", volumeID: 0, files: [MediaFile(path: "/abs", source: .bytes([]))]) } throws: { "\($0)".contains("relative") }
        try await withTemporaryDirectory("fat-bad") { dir in
            let huge = dir + "/huge.bin"
            _ = FileManager.default.createFile(atPath: huge, contents: nil)
            #expect(truncate(huge, off_t(4) << 30) == 0)    // sparse: 4 GiB, one byte over the limit
            #expect(throws: MediaError.fileTooLarge("pkg/huge.bin", size: 4 << 30, limit: 0xFFFF_FFFF)) {
                try FAT32Volume(label: "A", volumeID: 0, files: [MediaFile(path: "pkg/huge.bin", source: .file(path: huge))])
            }
            #expect { try FAT32Volume(label: "A", volumeID: 0, files: [MediaFile(path: "x", source: .file(path: dir + "/missing"))]) } throws: {
                "\($0)".contains(dir + "/missing")
            }
            let volume = try FAT32Volume(label: "A", volumeID: 0, files: [MediaFile(path: "x", source: .bytes([UInt8](repeating: 1, count: 1 << 20)))])
            let fd = try FSTest.openImage(dir + "/small.img")
            defer { close(fd) }
            #expect { try volume.write(to: fd, offset: 0, size: 16 << 20) } throws: { error in
                guard case MediaError.tooSmall = error else { return false }
                return true
            }
        }
    }
}
