import Foundation
import Testing
import TestSupport
@testable import Media
#if canImport(Glibc)
import Glibc
#endif

/// GPT disks written by `GPTDisk`, checked with sgdisk and blkid, and read back with damage detection.
@Suite(.serialized) struct GPTTests {
    static let size: UInt64 = 128 << 20

    /// A 128 MiB disk: an ESP (FAT32) at 1 MiB and a data partition named metal-iso after it.
    static func makeDisk(_ path: String) throws -> (GPTDisk, FAT32Volume, UInt64) {
        let esp = try FAT32Volume(label: "EFI", volumeID: 0xE5E5, files: [MediaFile(path: "EFI/BOOT/BOOTX64.EFI", source: .bytes(FSTest.randomBytes(4000, seed: 9)))])
        let espSize = try esp.minimumSize()
        let espLast = 2048 + (espSize + (1 << 20) - 1) / (1 << 20) * 2048 - 1
        let disk = try GPTDisk(diskGUID: GPTDisk.deterministicGUID("disk"), sizeInBytes: size, partitions: [
            GPTPartition(name: "EFI System", typeGUID: TalosMediaFacts.efiSystemPartitionType, uniqueGUID: GPTDisk.deterministicGUID("esp"),
                         firstLBA: 2048, lastLBA: espLast),
            GPTPartition(name: "metal-iso", typeGUID: TalosMediaFacts.linuxDataPartitionType, uniqueGUID: GPTDisk.deterministicGUID("data"),
                         firstLBA: espLast + 1, lastLBA: size / 512 - 34 - 2014, attributes: 1 << 60),
        ])
        let fd = try FSTest.openImage(path)
        defer { close(fd) }
        try disk.write(to: fd)
        try esp.write(to: fd, offset: 2048 * 512, size: (espLast - 2047) * 512)
        return (disk, esp, espSize)
    }

    @Test func sgdiskAndBlkidAcceptTheDisk() async throws {
        try await withTemporaryDirectory("gpt-ok") { dir in
            let img = dir + "/disk.img"
            let (disk, _, _) = try Self.makeDisk(img)
            let verify = try FSTest.run("sgdisk", ["-v", img])
            #expect(verify.status == 0)
            #expect(verify.out.contains("No problems found"), "\(verify.out)")
            let print = try FSTest.run("sgdisk", ["-p", img])
            #expect(print.out.contains("EFI System"), "\(print.out)")
            #expect(print.out.contains("metal-iso"), "\(print.out)")
            #expect(print.out.contains("Disk identifier (GUID): \(disk.diskGUID)"), "\(print.out)")
            #expect(print.out.contains("EF00"), "\(print.out)")
            #expect(print.out.contains("8300"), "\(print.out)")
            let info = try FSTest.run("sgdisk", ["-i", "2", img])
            #expect(info.out.contains("Partition unique GUID: \(GPTDisk.deterministicGUID("data"))"), "\(info.out)")
            #expect(info.out.contains("First sector: \(disk.partitions[1].firstLBA)"), "\(info.out)")
            #expect(info.out.contains("Last sector: \(disk.partitions[1].lastLBA)"), "\(info.out)")
            let blkid = try FSTest.run("blkid", ["-p", "-O", "\(2048 * 512)", img])
            #expect(blkid.out.contains("TYPE=\"vfat\""), "\(blkid.out)")
            #expect(blkid.out.contains("LABEL=\"EFI\""), "\(blkid.out)")
            let whole = try FSTest.run("blkid", ["-p", img])
            #expect(whole.out.contains("PTTYPE=\"gpt\""), "\(whole.out)")

            let fd = try FSTest.openImage(img)
            defer { close(fd) }
            let back = try GPTDisk.read(fd: fd, sizeInBytes: Self.size)
            #expect(back == disk)
            let fat = try FATFileSystemReader(fd: fd, offset: back.partitions[0].offsetInBytes, size: back.partitions[0].sizeInBytes)
            #expect(try FSTest.readAll(fat, "EFI/BOOT/BOOTX64.EFI") == FSTest.randomBytes(4000, seed: 9))
            #expect(fat.label == "EFI")
        }
    }

    @Test func readerDetectsDamageAndTruncation() async throws {
        try await withTemporaryDirectory("gpt-bad") { dir in
            let img = dir + "/disk.img"
            _ = try Self.makeDisk(img)
            func readError(_ path: String) throws -> MediaError? {
                let fd = try FSTest.openImage(path)
                defer { close(fd) }
                do { _ = try GPTDisk.read(fd: fd, sizeInBytes: Self.size); return nil } catch let e as MediaError { return e }
            }
            #expect(try readError(img) == nil)

            let header = dir + "/header.img"
            try FSTest.copyFile(img, header)
            try FSTest.flipByte(header, at: 512 + 60)    // inside the disk GUID
            guard case .corrupt(let what, let offset, let why)? = try readError(header) else { Issue.record("flipped header byte not detected"); return }
            #expect(what == "primary GPT header" && offset == 512 && why.contains("CRC32"))

            let entries = dir + "/entries.img"
            try FSTest.copyFile(img, entries)
            try FSTest.flipByte(entries, at: 1024 + 128 + 60)   // the second entry's name
            guard case .corrupt(let what2, let offset2, _)? = try readError(entries) else { Issue.record("flipped entry byte not detected"); return }
            #expect(what2.contains("entries") && offset2 == 1024)

            let backup = dir + "/backup.img"
            try FSTest.copyFile(img, backup)
            try FSTest.flipByte(backup, at: Self.size - 512 + 8)
            guard case .corrupt(let what3, let offset3, _)? = try readError(backup) else { Issue.record("damaged backup header not detected"); return }
            #expect(what3 == "backup GPT header" && offset3 == Self.size - 512)

            let cut = dir + "/cut.img"
            try FSTest.copyFile(img, cut)
            #expect(truncate(cut, off_t(Self.size - (1 << 20))) == 0)
            guard case .corrupt(_, let offset4, let why4)? = try readError(cut) else { Issue.record("truncation not detected"); return }
            #expect(offset4 == Self.size - (1 << 20) && why4.contains("truncated"))
        }
    }

    @Test func badLayoutsAreRefused() throws {
        let guid = GPTDisk.deterministicGUID("x")
        func part(_ first: UInt64, _ last: UInt64, _ id: String = "p") -> GPTPartition {
            GPTPartition(name: "p", typeGUID: TalosMediaFacts.linuxDataPartitionType, uniqueGUID: GPTDisk.deterministicGUID(id), firstLBA: first, lastLBA: last)
        }
        #expect { try GPTDisk(diskGUID: guid, sizeInBytes: 64 << 20, partitions: [part(2048, 10000, "a"), part(8192, 20000, "b")]) } throws: { "\($0)".contains("overlaps partition 1") }
        #expect { try GPTDisk(diskGUID: guid, sizeInBytes: 64 << 20, partitions: [part(2049, 10000)]) } throws: { "\($0)".contains("multiple of 2048") }
        #expect { try GPTDisk(diskGUID: guid, sizeInBytes: 64 << 20, partitions: [part(2048, (64 << 20) / 512 - 1)]) } throws: { "\($0)".contains("usable") }
        #expect { try GPTDisk(diskGUID: "not-a-guid", sizeInBytes: 64 << 20, partitions: []) } throws: { "\($0)".contains("disk GUID") }
        #expect { try GPTDisk(diskGUID: guid, sizeInBytes: (64 << 20) + 1, partitions: []) } throws: { "\($0)".contains("multiple of 512") }
        var long = part(2048, 4095)
        long.name = String(repeating: "n", count: 37)
        #expect { try GPTDisk(diskGUID: guid, sizeInBytes: 64 << 20, partitions: [long]) } throws: { "\($0)".contains("36") }
    }

    @Test func deterministicGUIDsAreStableVersion4() throws {
        let a = GPTDisk.deterministicGUID("node-1/esp")
        #expect(a == GPTDisk.deterministicGUID("node-1/esp"))
        #expect(a != GPTDisk.deterministicGUID("node-2/esp"))
        let parts = a.split(separator: "-")
        #expect(parts.map(\.count) == [8, 4, 4, 4, 12])
        #expect(parts[2].first == "4")
        #expect("89AB".contains(parts[3].first!))
        #expect(throws: Never.self) { try GPTDisk.guidBytes(a, field: "x") }
        let raw = try GPTDisk.guidBytes(a, field: "x")
        #expect(GPTDisk.guidString(raw[...]) == a)
    }
}
