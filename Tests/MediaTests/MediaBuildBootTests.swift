import Foundation
import OutpostCore
import Media
@testable import MediaBuilder
import Testing
import TestSupport

/// Outpost's own media booted with real firmware: OVMF under QEMU (TCG) → systemd-boot → Debian's kernel
/// → a test initramfs that finds the `metal-iso` volume as Talos does and checks config.yaml and the image
/// cache. The USB image takes its boot assets from a fake Talos ISO (the extraction path); the ISO is
/// built from explicit assets.
@Suite(.serialized) struct MediaBuildBootTests {
    /// Builds a fake Talos ISO with xorriso: /boot/vmlinuz, /boot/initramfs.xz and a FAT16 El Torito EFI
    /// image (mkfs.fat + mcopy) holding systemd-boot as EFI/BOOT/BOOTX64.EFI.
    static func fakeTalosISO(at path: String, kernel: String, initramfs: String, loader: String, work: String) throws {
        let root = work + "/iso-root"
        try FileManager.default.createDirectory(atPath: root + "/boot", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: kernel, toPath: root + "/boot/vmlinuz")
        try FileManager.default.copyItem(atPath: initramfs, toPath: root + "/boot/initramfs.xz")
        let efi = root + "/efiboot.img"
        // FAT16, as mformat makes a Talos ISO's EFI image of this size (16 MiB: 8,000-odd clusters).
        try ProcessRunner.run("mkfs.fat", ["-F", "16", "-C", efi, "16384"], check: true)
        try ProcessRunner.run("mmd", ["-i", efi, "::EFI", "::EFI/BOOT"], check: true)
        try ProcessRunner.run("mcopy", ["-i", efi, loader, "::EFI/BOOT/BOOTX64.EFI"], check: true)
        try ProcessRunner.run("xorriso", ["-as", "mkisofs", "-R", "-J", "-V", "TALOS_V1_13_9", "-o", path,
                                          "-e", "efiboot.img", "-no-emul-boot", root], check: true)
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Builds a medium, then the initramfs that checks its config hash, then the medium again with it.
    static func buildBootable(dir: String, format: String, assets: (String) throws -> [String]) throws -> (image: String, result: MediaBuildResult) {
        let kernel = try TestInitramfs.hostKernel()
        let package = try MediaFixtures.makePackage(in: dir)
        let layout = dir + "/talos-images"
        try MediaFixtures.makeLayout(layout, images: MediaFixtures.talosImages)
        let site = try MediaFixtures.makeSite(in: dir, packages: [package], assets: "    iso: /nonexistent-replaced-by-flags.iso")
        let img = dir + "/node.\(format == "iso" ? "iso" : "img")"
        func build(_ initramfs: String) throws -> MediaBuildResult {
            let r = try Outpost.run(["media", "build", site, "--node", "worker-1", "--format", format, "--images-from", layout,
                                     "--kernel-arg", "console=ttyS0", "--force", "--output-format", "json", "-o", img] + (try assets(initramfs)))
            guard r.status == 0 else { throw TestInitramfsError("media build failed: \(r.err)") }
            return try JSONDecoder().decode(MediaBuildResult.self, from: r.stdout)
        }
        let placeholder = dir + "/placeholder-initramfs"
        try Data("placeholder".utf8).write(to: URL(fileURLWithPath: placeholder))
        let first = try build(placeholder)
        let initramfs = dir + "/initramfs.cpio"
        try TestInitramfs.build(output: initramfs, kernelVersion: kernel.version, configSHA256: first.configSHA256,
                                expectedFiles: ["config.yaml", "outpost/media-manifest.json"] + MediaFixtures.expectedCacheFiles,
                                workDirectory: dir)
        let second = try build(initramfs)
        #expect(second.configSHA256 == first.configSHA256)
        return (img, second)
    }

    @Test func usbImageFromATalosISOBootsUnderOVMF() async throws {
        try await withTemporaryDirectory("media-boot-usb") { dir in
            let kernel = try TestInitramfs.hostKernel()
            let (img, result) = try Self.buildBootable(dir: dir, format: "usb") { initramfs in
                let iso = dir + "/talos-\(UUID().uuidString).iso"
                try Self.fakeTalosISO(at: iso, kernel: kernel.path, initramfs: initramfs, loader: MediaLayout.systemdBoot, work: dir)
                return ["--iso", iso]
            }
            #expect(try MediaVerifier.verify(path: img).ok)
            #expect(result.bootLoader.contains("El Torito EFI image"), "\(result.bootLoader)")
            let boot = try await QEMU.boot(.disk(img), marker: TestInitramfs.successMarker,
                                           failureMarker: TestInitramfs.failureMarker, workDirectory: dir)
            #expect(boot.succeeded, "console:\n\(boot.console.suffix(4000))")
        }
    }

    /// The ISO boots from the CD-ROM and, written raw to a disk (a USB stick), from that disk. Its hybrid
    /// partition table (one EFI System partition, 0xEF, over the El Torito image) is checked with sfdisk
    /// and mtools. OVMF alone cannot show the table is needed: EDK2 also finds El Torito on a disk and
    /// booted the ISO as a disk with the table zeroed (tried by hand); firmware that reads only partition
    /// tables on USB disks is what the table is for. The disk boot shows the table breaks nothing.
    @Test func isoBootsUnderOVMFFromTheCDROMAndAsADisk() async throws {
        try await withTemporaryDirectory("media-boot-iso") { dir in
            let kernel = try TestInitramfs.hostKernel()
            let (iso, _) = try Self.buildBootable(dir: dir, format: "iso") { initramfs in
                ["--kernel", kernel.path, "--initramfs", initramfs]
            }
            let report = try MediaVerifier.verify(path: iso)
            #expect(report.ok && report.format == "iso", "\(report.problems)")
            let info = try ProcessRunner.run("blkid", ["-p", "-o", "export", iso], check: true).out
            #expect(info.contains("LABEL=metal-iso") && info.contains("TYPE=iso9660"), "\(info)")
            let boot = try await QEMU.boot(.cdrom(iso), marker: TestInitramfs.successMarker,
                                           failureMarker: TestInitramfs.failureMarker, workDirectory: dir)
            #expect(boot.succeeded, "console:\n\(boot.console.suffix(4000))")

            let table = try JSONValue.parse(try ProcessRunner.run("sfdisk", ["--json", iso], check: true).stdout)
            let partitions = table["partitiontable"]?["partitions"]?.arrayValue ?? []
            #expect(table["partitiontable"]?["label"] == "dos")
            #expect(partitions.count == 1 && partitions.first?["type"] == "ef", "\(table)")
            let start = partitions.first?["start"]?.intValue ?? 0
            let listing = try ProcessRunner.run("mdir", ["-b", "-i", "\(iso)@@\(start * 512)", "::EFI/BOOT"],
                                                environment: FSTest.mtoolsEnv)
            #expect(listing.out.uppercased().contains("BOOTX64.EFI"), "\(listing.out)\(listing.err)")
            let usb = try await QEMU.boot(.disk(iso), marker: TestInitramfs.successMarker,
                                          failureMarker: TestInitramfs.failureMarker, workDirectory: dir)
            #expect(usb.succeeded, "console (ISO as a disk):\n\(usb.console.suffix(4000))")
        }
    }

    @Test func talosISOExtractionTakesKernelInitramfsAndLoader() async throws {
        try await withTemporaryDirectory("media-extract") { dir in
            let kernel = dir + "/vmlinuz", initramfs = dir + "/initramfs.xz", loader = dir + "/loader.efi"
            try MediaFixtures.random(200_000, seed: 1).write(to: URL(fileURLWithPath: kernel))
            try MediaFixtures.random(500_000, seed: 2).write(to: URL(fileURLWithPath: initramfs))
            try MediaFixtures.random(70_000, seed: 3).write(to: URL(fileURLWithPath: loader))
            let iso = dir + "/talos.iso"
            try Self.fakeTalosISO(at: iso, kernel: kernel, initramfs: initramfs, loader: loader, work: dir)
            let assets = try BootAssets.resolve(.iso(iso), base: dir, work: dir + "/out")
            #expect(try MediaFixtures.sha256(file: assets.kernel) == (try MediaFixtures.sha256(file: kernel)))
            #expect(try MediaFixtures.sha256(file: assets.initramfs) == (try MediaFixtures.sha256(file: initramfs)))
            #expect(try MediaFixtures.sha256(file: assets.loader) == (try MediaFixtures.sha256(file: loader)))

            let notTalos = dir + "/other.iso"
            try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
            try ProcessRunner.run("xorriso", ["-as", "mkisofs", "-o", notTalos, dir + "/empty"], check: true)
            #expect(throws: MediaBuilderError.self) { try BootAssets.resolve(.iso(notTalos), base: dir, work: dir + "/out2") }
        }
    }
}
