import Foundation
import Testing
import TestSupport
@testable import Media
#if canImport(Glibc)
import Glibc
#endif

/// ISO images written by `ISO9660Image`, checked with isoinfo, xorriso, bsdtar, blkid and our reader.
@Suite(.serialized) struct ISO9660Tests {
    static let longName = "sha256-" + String(repeating: "0123456789abcdef", count: 4) + "-a-very-long-name-that-needs-a-rock-ridge-continuation-area-" + String(repeating: "x", count: 80) + ".tar"

    static func sampleFiles(_ dir: String) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        files["config.yaml"] = Array("version: v1alpha1\nmachine: {}\n".utf8)
        files["imagecache/manifests/registry.k8s.io/pause/reference/3.10"] = FSTest.randomBytes(700, seed: 1)
        files["imagecache/blob/" + longName] = FSTest.randomBytes(5000, seed: 2)
        files["outpost/packages/Mixed Case Name.tar.zst"] = FSTest.randomBytes(2048, seed: 3)
        files["outpost/packages/mixed case name.tar.zst"] = FSTest.randomBytes(2049, seed: 4)
        files["outpost/manifest.json"] = Array("{}".utf8)
        files["grüße/ünïcødé-名前.bin"] = [1, 2, 3]
        files["a/b/c/d/e/f/g/h/i/j/deep.txt"] = Array("deep\n".utf8)
        files["empty"] = []
        files["big.bin"] = FSTest.randomBytes(3 << 20, seed: 5)
        return files
    }

    static func efiImage(_ dir: String) throws -> String {
        let path = dir + "/efiboot.img"
        let esp = try FAT32Volume(label: "EFIBOOT", volumeID: 0xEF1, files: [MediaFile(path: "EFI/BOOT/BOOTX64.EFI", source: .bytes(FSTest.randomBytes(10000, seed: 6)))])
        try FSTest.writeFAT(esp, to: path)
        return path
    }

    @Test func toolsSeeLabelNamesBootAndBytes() async throws {
        try await withTemporaryDirectory("iso-tools") { dir in
            let files = try Self.sampleFiles(dir)
            let efi = try Self.efiImage(dir)
            let image = try ISO9660Image(volumeLabel: TalosMediaFacts.configVolumeLabel,
                                         files: files.map { MediaFile(path: $0.key, source: .bytes($0.value)) },
                                         efiBootImage: .file(path: efi), modificationTime: 1_700_000_000)
            let iso = dir + "/media.iso"
            var progressed: UInt64 = 0
            try image.write(toPath: iso) { progressed = $0 }
            #expect(progressed == files.values.reduce(0) { $0 + UInt64($1.count) })
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }.isEmpty)

            let d = try FSTest.run("isoinfo", ["-d", "-i", iso])
            #expect(d.status == 0, "\(d.err)")
            #expect(d.out.contains("Volume id: metal-iso"), "\(d.out)")
            #expect(d.out.contains("El Torito"), "\(d.out)")
            #expect(d.out.contains("Joliet with UCS level 3"), "\(d.out)")
            #expect(d.out.contains("Rock Ridge signatures version 1 found"), "\(d.out)")
            // isoinfo prints Joliet names only in 8-bit charsets; libarchive with Rock Ridge off reads them as UTF-8.
            let joliet = try FSTest.run("isoinfo", ["-J", "-l", "-i", iso])
            #expect(joliet.out.contains("Mixed Case Name.tar.zst"), "\(joliet.out)")
            let jolietNames = try FSTest.run("bsdtar", ["--options", "iso9660:!rockridge", "-tf", iso], env: ["LC_ALL": "C.UTF-8"])
            #expect(jolietNames.out.contains("grüße/ünïcødé-名前.bin"), "\(jolietNames.out)")
            #expect(jolietNames.out.contains("outpost/packages/mixed case name.tar.zst"), "\(jolietNames.out)")
            #expect(jolietNames.out.contains("imagecache/blob/" + String(Self.longName.prefix(103)) + "\n"), "Joliet keeps 103 characters: \(jolietNames.out)")
            let rr = try FSTest.run("isoinfo", ["-R", "-l", "-i", iso])
            #expect(rr.out.contains(Self.longName), "\(rr.out)")
            #expect(rr.out.contains("mixed case name.tar.zst"), "\(rr.out)")
            #expect(rr.out.contains("Directory listing of /a/b/c/d/e/f/g/h/i/j/"), "\(rr.out)")
            let plain = try FSTest.run("isoinfo", ["-l", "-i", iso])
            #expect(plain.out.contains("CONFIG.YAML;1"), "\(plain.out)")

            let torito = try FSTest.run("xorriso", ["-indev", iso, "-report_el_torito", "plain"])
            #expect(torito.status == 0, "\(torito.err)")
            #expect(torito.out.contains("UEFI"), "\(torito.out)\(torito.err)")
            #expect(!torito.err.contains("FAILURE"), "\(torito.err)")
            let find = try FSTest.run("xorriso", ["-indev", iso, "-find", "/", "-name", "deep.txt"])
            #expect(find.out.contains("'/a/b/c/d/e/f/g/h/i/j/deep.txt'"), "\(find.out)\(find.err)")
            #expect(!find.err.contains("SORRY") && !find.err.contains("FAILURE"), "\(find.err)")

            let blkid = try FSTest.run("blkid", ["-p", iso])
            #expect(blkid.out.contains("TYPE=\"iso9660\""), "\(blkid.out)")
            #expect(blkid.out.contains("LABEL=\"metal-iso\""), "\(blkid.out)")

            for (path, bytes) in files {
                let r = try FSTest.run("bsdtar", ["-xOf", iso, path])
                #expect(r.status == 0, "bsdtar \(path): \(r.err)")
                let same = Array(r.stdout) == bytes
                #expect(same, "bsdtar returned \(r.stdout.count) different bytes for \(path) (\(bytes.count) expected)")
            }

            let reader = try ISO9660Reader(path: iso)
            #expect(reader.volumeLabel == "metal-iso")
            #expect(reader.jolietVolumeLabel == "metal-iso")
            #expect(reader.bootEntries.count == 1)
            let boot = try #require(reader.bootEntries.first)
            #expect(boot.platformID == 0xEF && boot.bootable && boot.mediaType == 0)
            #expect(boot.loadSectors == 0, "a 33 MiB FAT32 image does not fit the 16-bit load size: 0 means to the end")
            var bootBytes: [UInt8] = []
            try reader.readBootImage { bootBytes += $0 }
            let efiBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: efi)))
            let bootSame = Array(bootBytes.prefix(efiBytes.count)) == efiBytes
            #expect(bootSame, "boot image: read \(bootBytes.count) bytes, expected a prefix of \(efiBytes.count)")
            let entries = try reader.entries()
            for (path, bytes) in files {
                #expect(entries.contains { $0.path == path && !$0.isDirectory && $0.size == UInt64(bytes.count) }, "\(path)")
                var back: [UInt8] = []
                try reader.readFile(path) { back += $0 }
                let same = back == bytes
                #expect(same, "reader: \(path): \(back.count) bytes, expected \(bytes.count)")
            }
            #expect(entries.contains { $0.path == "a/b/c" && $0.isDirectory })
        }
    }

    @Test func sameInputsGiveSameBytesAndSmallBootImagesGetALoadSize() async throws {
        try await withTemporaryDirectory("iso-repro") { dir in
            let files = try Self.sampleFiles(dir).map { MediaFile(path: $0.key, source: .bytes($0.value)) }
            let boot = FSTest.randomBytes(5 * 512 + 1, seed: 8)
            try ISO9660Image(volumeLabel: "metal-iso", files: files, efiBootImage: .bytes(boot)).write(toPath: dir + "/a.iso")
            try ISO9660Image(volumeLabel: "metal-iso", files: files.reversed(), efiBootImage: .bytes(boot)).write(toPath: dir + "/b.iso")
            #expect(try FSTest.sha256(file: dir + "/a.iso") == FSTest.sha256(file: dir + "/b.iso"))
            let reader = try ISO9660Reader(path: dir + "/a.iso")
            #expect(reader.bootEntries.first?.loadSectors == 6)
            #expect(reader.bootEntries.first?.platformID == 0xEF)
            // Without a boot image there is no El Torito record.
            try ISO9660Image(volumeLabel: "DATA", files: files, efiBootImage: nil).write(toPath: dir + "/c.iso")
            #expect(try ISO9660Reader(path: dir + "/c.iso").bootEntries.isEmpty)
            let d = try FSTest.run("isoinfo", ["-d", "-i", dir + "/c.iso"])
            #expect(d.out.contains("Volume id: DATA") && !d.out.contains("El Torito"), "\(d.out)")
        }
    }

    @Test func badInputAndDamageGetClearErrors() async throws {
        #expect { try ISO9660Image(volumeLabel: String(repeating: "A", count: 33), files: [], efiBootImage: nil) } throws: {
            "\($0)".contains("at most 32")
        }
        #expect(throws: MediaError.invalidField("ISO volume label", value: "metal iso", reason: "character ' ' is not allowed (A-Z a-z 0-9 _ - .)")) {
            try ISO9660Image(volumeLabel: "metal iso", files: [], efiBootImage: nil)
        }
        #expect { try ISO9660Image(volumeLabel: "x", files: [MediaFile(path: "a/../b", source: .bytes([]))], efiBootImage: nil) } throws: { "\($0)".contains("a/../b") }
        #expect { try ISO9660Image(volumeLabel: "x", files: [MediaFile(path: "a", source: .bytes([])), MediaFile(path: "a", source: .bytes([1]))], efiBootImage: nil) } throws: {
            "\($0)".contains("given twice")
        }
        try await withTemporaryDirectory("iso-bad") { dir in
            #expect { try ISO9660Image(volumeLabel: "x", files: [], efiBootImage: .file(path: dir + "/nope.img")) } throws: { "\($0)".contains(dir + "/nope.img") }
            let iso = dir + "/x.iso"
            try ISO9660Image(volumeLabel: "metal-iso", files: [MediaFile(path: "f", source: .bytes([1]))], efiBootImage: .bytes([1, 2, 3])).write(toPath: iso)
            let reader = try ISO9660Reader(path: iso)
            let catalog = UInt64(18 * 2048)   // PVD 16, boot record 17, Joliet 18, terminator 19, catalog 20
            #expect(reader.bootEntries.first?.imageLBA ?? 0 > 20)
            let cut = dir + "/cut.iso"
            try FSTest.copyFile(iso, cut)
            try FSTest.flipByte(iso, at: catalog + 2 * 2048 + 4)
            #expect { try ISO9660Reader(path: iso) } throws: { error in
                guard case MediaError.corrupt(let what, let offset, _) = error else { return false }
                return what.contains("validation entry") && offset == 20 * 2048 + 28
            }
            #expect(truncate(cut, off_t(reader.volumeSectors - 1) * 2048) == 0)
            #expect { try ISO9660Reader(path: cut) } throws: { "\($0)".contains("truncated") }
            // Writing over an existing path never leaves a partial file behind on failure.
            #expect { try ISO9660Image(volumeLabel: "x", files: [MediaFile(path: "f", source: .file(path: dir + "/x.iso"))], efiBootImage: nil).write(toPath: "/nonexistent-dir/out.iso") } throws: { "\($0)".contains("/nonexistent-dir/out.iso") }
        }
    }
}
