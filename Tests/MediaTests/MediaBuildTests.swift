import Foundation
import Media
import OCI
@testable import MediaBuilder
import Packaging
import Testing
import TestSupport

/// `outpost media build|verify` and `outpost image-cache build` end to end, checked with independent
/// tools (sgdisk, blkid, fsck.fat, mtools) and by damaging images.
@Suite(.serialized) struct MediaBuildTests {
    /// A site whose boot assets are the host kernel and a stand-in initramfs, one package, Talos's images.
    struct Setup {
        let dir: String
        let site: String
        let layout: String
        let package: String
        let initramfs: String
    }

    static func setup(_ dir: String, packageLayerSize: Int = 4096) throws -> Setup {
        let kernel = try TestInitramfs.hostKernel()
        let initramfs = dir + "/initramfs.img"
        try MediaFixtures.random(300_000, seed: 99).write(to: URL(fileURLWithPath: initramfs))
        let package = try MediaFixtures.makePackage(in: dir, layerSize: packageLayerSize)
        let layout = dir + "/talos-images"
        try MediaFixtures.makeLayout(layout, images: MediaFixtures.talosImages)
        let site = try MediaFixtures.makeSite(in: dir, packages: [package],
                                              assets: "    kernel: \(kernel.path)\n    initramfs: \(initramfs)")
        return Setup(dir: dir, site: site, layout: layout, package: package, initramfs: initramfs)
    }

    static func build(_ s: Setup, _ extra: [String], output: String) throws -> ProcessResult {
        try Outpost.run(["media", "build", s.site, "--node", "worker-1", "--images-from", s.layout, "-o", output] + extra)
    }

    @Test func usbImagePassesHostToolsAndVerify() async throws {
        try await withTemporaryDirectory("media-usb") { dir in
            let s = try Self.setup(dir)
            let key = try PackageSigning.writeKeyPair(name: dir + "/cosign")
            let img = dir + "/worker-1.img"
            let r = try Self.build(s, ["--signing-key", key.privateKey, "--output-format", "json"], output: img)
            #expect(r.status == 0, "\(r.err)")
            let result = try JSONDecoder().decode(MediaBuildResult.self, from: r.stdout)
            #expect(result.signed)
            #expect(result.kernelArguments.contains("talos.config=metal-iso"))
            #expect(Set(MediaFixtures.talosImages + MediaFixtures.packageImages).count == result.images.count)

            let v = try ProcessRunner.run("sgdisk", ["-v", img])
            #expect(v.status == 0 && v.out.contains("No problems found"), "\(v.out)\(v.err)")
            let p = try ProcessRunner.run("sgdisk", ["-p", img], check: true).out
            #expect(p.contains("metal-iso") && p.contains("EF00"), "\(p)")

            let disk = try withFD(img) { try GPTDisk.read(fd: $0, sizeInBytes: MediaLayoutFacts.size(img)) }
            let esp = disk.partitions[0], data = disk.partitions[1]
            let espLabel = try ProcessRunner.run("blkid", ["-p", "-O", "\(esp.firstLBA * 512)", "-o", "export", img], check: true).out
            #expect(espLabel.contains("TYPE=vfat") && espLabel.contains("LABEL=EFI"), "\(espLabel)")
            let dataLabel = try ProcessRunner.run("blkid", ["-p", "-O", "\(data.firstLBA * 512)", "-o", "export", img], check: true).out
            #expect(dataLabel.contains("LABEL=TALOS_MEDIA") && dataLabel.contains("TYPE=vfat"), "\(dataLabel)")
            let info = try ProcessRunner.run("sgdisk", ["-i", "2", img], check: true).out
            #expect(info.contains("Partition name: 'metal-iso'"), "\(info)")
            for (i, part) in [esp, data].enumerated() {
                let f = dir + "/part\(i).img"
                try ProcessRunner.run("dd", ["if=\(img)", "of=\(f)", "bs=512", "skip=\(part.firstLBA)",
                                             "count=\(part.lastLBA - part.firstLBA + 1)", "status=none"], check: true)
                let fsck = try ProcessRunner.run("fsck.fat", ["-n", f])
                #expect(fsck.status == 0, "fsck.fat partition \(i + 1): \(fsck.out)\(fsck.err)")
            }
            // mtools reads the ESP's boot entry and the data partition's config and cache.
            let entry = try ProcessRunner.run("mtype", ["-i", "\(img)@@\(esp.firstLBA * 512)", "::loader/entries/talos.conf"], check: true).out
            #expect(entry.contains("options talos.platform=metal") && entry.contains("talos.config=metal-iso"), "\(entry)")
            let config = try ProcessRunner.run("mtype", ["-i", "\(img)@@\(data.firstLBA * 512)", "::config.yaml"], check: true).stdout
            #expect(MediaFixtures.sha256(config) == result.configSHA256)
            let tree = try ProcessRunner.run("mdir", ["-/", "-b", "-i", "\(img)@@\(data.firstLBA * 512)", "::"], check: true).out
            for f in MediaFixtures.expectedCacheFiles { #expect(tree.contains("::/" + f), "\(f) missing:\n\(tree)") }

            let ok = try Outpost.run(["media", "verify", img, "--key", key.publicKey])
            #expect(ok.status == 0, "\(ok.out)\(ok.err)")
            #expect(ok.out.contains("signature verified"))
            let other = try PackageSigning.writeKeyPair(name: dir + "/other")
            let bad = try Outpost.run(["media", "verify", img, "--key", other.publicKey])
            #expect(bad.status != 0 && bad.err.contains("does not verify"), "\(bad.err)")
        }
    }

    @Test func verifyNamesAFlippedByteInEachPartitionAndATruncatedImage() async throws {
        try await withTemporaryDirectory("media-damage") { dir in
            let s = try Self.setup(dir)
            let img = dir + "/node.img"
            #expect(try Self.build(s, [], output: img).status == 0)
            #expect(try Outpost.run(["media", "verify", img]).status == 0)

            // ESP: a byte inside the initramfs.
            let espCopy = dir + "/esp-flip.img"
            try FileManager.default.copyItem(atPath: img, toPath: espCopy)
            let initrd = try Data(contentsOf: URL(fileURLWithPath: s.initramfs))
            let at = try #require(try MediaFixtures.find(initrd.subdata(in: 1000..<1064), in: espCopy))
            try MediaFixtures.flipByte(espCopy, at: at + 10)
            let r1 = try Outpost.run(["media", "verify", espCopy])
            #expect(r1.status != 0)
            #expect(r1.err.contains("partition 1") && r1.err.contains("talos/initramfs"), "\(r1.err)")
            // The initramfs's bytes 1000..<1064 were found at `at`: its data starts 1000 bytes earlier.
            #expect(r1.err.contains("data from image byte offset \(at - 1000)"), "\(r1.err)")

            // Data partition: a byte inside config.yaml.
            let dataCopy = dir + "/data-flip.img"
            try FileManager.default.copyItem(atPath: img, toPath: dataCopy)
            let cfgAt = try #require(try MediaFixtures.find(Data("machine:".utf8), in: dataCopy))
            try MediaFixtures.flipByte(dataCopy, at: cfgAt + 3)
            let r2 = try Outpost.run(["media", "verify", dataCopy])
            #expect(r2.status != 0)
            #expect(r2.err.contains("partition 2 (metal-iso") && r2.err.contains("config.yaml"), "\(r2.err)")

            // Truncated.
            let short = dir + "/short.img"
            try FileManager.default.copyItem(atPath: img, toPath: short)
            try ProcessRunner.run("truncate", ["-s", "-1M", short], check: true)
            let r3 = try Outpost.run(["media", "verify", short])
            #expect(r3.status != 0 && r3.err.contains("truncated"), "\(r3.err)")
        }
    }

    @Test func sameInputsGiveTheSameBytesAndOutputIsNotOverwritten() async throws {
        try await withTemporaryDirectory("media-repro") { dir in
            let s = try Self.setup(dir)
            let a = dir + "/a.img", b = dir + "/b.img"
            #expect(try Self.build(s, [], output: a).status == 0)
            #expect(try Self.build(s, [], output: b).status == 0)
            #expect(try MediaFixtures.sha256(file: a) == MediaFixtures.sha256(file: b))

            let before = try MediaFixtures.sha256(file: a)
            let again = try Self.build(s, ["--kernel-arg", "console=ttyS0"], output: a)
            #expect(again.status != 0 && again.err.contains("--force"), "\(again.err)")
            #expect(try MediaFixtures.sha256(file: a) == before)
            #expect(try Self.build(s, ["--kernel-arg", "console=ttyS0", "--force"], output: a).status == 0)
            #expect(try MediaFixtures.sha256(file: a) != before)
            let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }
            #expect(left.isEmpty, "temporary files left: \(left)")
        }
    }

    @Test func missingImagesAreNamedAndNothingIsWritten() async throws {
        try await withTemporaryDirectory("media-missing") { dir in
            let s = try Self.setup(dir)
            let img = dir + "/node.img"
            let r = try Outpost.run(["media", "build", s.site, "--node", "cp-1", "-o", img])
            #expect(r.status != 0)
            #expect(r.err.contains("ghcr.io/siderolabs/installer:v1.13.9") && r.err.contains("--images-from"), "\(r.err)")
            #expect(!FileManager.default.fileExists(atPath: img))
            let u = try Outpost.run(["media", "build", s.site, "--node", "nobody", "--images-from", s.layout, "-o", img])
            #expect(u.status != 0 && u.err.contains("cp-1, worker-1"), "\(u.err)")
        }
    }

    @Test func imagesNoLayoutHoldsArePulledFromARegistryMirror() async throws {
        try await withDockerRegistry { registry in
            try await withTemporaryDirectory("media-registry") { dir in
                let s = try Self.setup(dir)
                let partial = dir + "/without-installer"
                try MediaFixtures.makeLayout(partial, images: MediaFixtures.talosImages.filter { !$0.contains("installer") })
                let installer = try TestImages.makeImage(in: dir + "/installer-layout", tag: "v1.13.9", layerSizes: [2048])
                try TestImages.push(installer, to: registry, repository: "siderolabs/installer")
                let img = dir + "/node.img"
                let r = try Outpost.run(["media", "build", s.site, "--node", "worker-1", "--images-from", partial,
                                         "--images-from", "registry://\(registry.host)", "--output-format", "json", "-o", img])
                #expect(r.status == 0, "\(r.err)")
                let result = try JSONDecoder().decode(MediaBuildResult.self, from: r.stdout)
                #expect(result.images["ghcr.io/siderolabs/installer:v1.13.9"] == installer.digest)
                #expect(try Outpost.run(["media", "verify", img]).status == 0)
            }
        }
    }

    @Test func imageCacheTreeFromAPackage() async throws {
        try await withTemporaryDirectory("media-cache") { dir in
            let pkg = try MediaFixtures.makePackage(in: dir)
            let out = dir + "/cache"
            let r = try Outpost.run(["image-cache", "build", "--package", pkg, "-o", out])
            #expect(r.status == 0, "\(r.err)")
            for image in MediaFixtures.packageImages {
                let ref = try ImageReference(parsing: image)
                let regDir = ref.registry.contains(":") ? ref.registry.replacingOccurrences(of: ":", with: "_") + "_" : ref.registry
                let refFile = "\(out)/manifests/\(regDir)/\(ref.repository)/reference/\(ref.tag!)"
                let manifest = try Data(contentsOf: URL(fileURLWithPath: refFile))
                let sum = MediaFixtures.sha256(manifest)
                // Talos resolves a tag by hashing the reference file and opening digest/sha256-<that>.
                let byDigest = try Data(contentsOf: URL(fileURLWithPath: "\(out)/manifests/\(regDir)/\(ref.repository)/digest/sha256-\(sum)"))
                #expect(byDigest == manifest)
                let m = try JSONDecoder().decode(ImageManifest.self, from: manifest)
                for blob in m.blobs {
                    let path = "\(out)/blob/sha256-\(blob.digest.hex)"
                    #expect(try MediaFixtures.sha256(file: path) == blob.digest.hex)
                }
            }
            #expect(try Outpost.run(["image-cache", "build", "--package", pkg, "-o", out]).status != 0)
        }
    }

    @Test func largePackageIsSplitAcrossFilesAndReassembles() async throws {
        try await withTemporaryDirectory("media-split") { dir in
            let s = try Self.setup(dir, packageLayerSize: 300_000)
            var o = MediaBuildOptions(site: s.site, node: "cp-1", output: dir + "/split.img")
            o.imageLayouts = [s.layout]
            o.maxFileSize = 128 * 1024
            let r = try await MediaBuilder.build(o)
            #expect(r.packages.count > 2)
            #expect(r.packages.first?.hasSuffix(".part000") == true)
            let report = try MediaVerifier.verify(path: r.output)
            #expect(report.ok, "\(report.problems)")
            // Copy the parts out with mtools and check them with Packaging's split-package reader.
            let disk = try withFD(r.output) { try GPTDisk.read(fd: $0, sizeInBytes: MediaLayoutFacts.size(r.output)) }
            let out = dir + "/parts"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for p in r.packages {
                try ProcessRunner.run("mcopy", ["-i", "\(r.output)@@\(disk.partitions[1].firstLBA * 512)", "::" + p,
                                                out + "/" + URL(fileURLWithPath: p).lastPathComponent], check: true)
            }
            let part0 = out + "/" + URL(fileURLWithPath: r.packages[0]).lastPathComponent
            let (record, _) = try SplitPackage.verifyParts(part000: part0)
            #expect(record.Sha256Sum == (try MediaFixtures.sha256(file: s.package)))
        }
    }

    @Test func flashWritesAPlainFileAndRefusesUnsafeDevices() async throws {
        try await withTemporaryDirectory("media-flash") { dir in
            let img = dir + "/src.img", dst = dir + "/stick.img"
            try MediaFixtures.random(3 << 20, seed: 5).write(to: URL(fileURLWithPath: img))
            try Data("old".utf8).write(to: URL(fileURLWithPath: dst))
            let r = try Outpost.run(["media", "flash", img, "--device", dst, "--yes"])
            #expect(r.status == 0, "\(r.err)")
            #expect(try MediaFixtures.sha256(file: dst) == (try MediaFixtures.sha256(file: img)))
            let noYes = try Outpost.run(["media", "flash", img, "--device", dst])
            #expect(noYes.status != 0 && noYes.err.contains("--yes"))
            #expect(MediaFlasher.refusal(device: img, image: img)?.contains("image itself") == true)
            #expect(MediaFlasher.refusal(device: "/dev/null", image: img)?.contains("neither") == true)

            // A block device judged through a fake /sys and mounts table.
            guard let loop = ["/dev/loop0", "/dev/loop1", "/dev/ram0"].first(where: { isBlockDevice($0) }) else { return }
            let name = URL(fileURLWithPath: loop).lastPathComponent
            let sys = dir + "/sys", mounts = dir + "/mounts"
            try FileManager.default.createDirectory(atPath: "\(sys)/class/block/\(name)/\(name)p1", withIntermediateDirectories: true)
            try Data("1".utf8).write(to: URL(fileURLWithPath: "\(sys)/class/block/\(name)/\(name)p1/partition"))
            try Data("0\n".utf8).write(to: URL(fileURLWithPath: "\(sys)/class/block/\(name)/removable"))
            try Data().write(to: URL(fileURLWithPath: mounts))
            #expect(MediaFlasher.refusal(device: loop, image: img, sysRoot: sys, mountsFile: mounts)?.contains("not a removable") == true)
            try Data("1\n".utf8).write(to: URL(fileURLWithPath: "\(sys)/class/block/\(name)/removable"))
            #expect(MediaFlasher.refusal(device: loop, image: img, sysRoot: sys, mountsFile: mounts) == nil)
            try Data("/dev/\(name)p1 /media/stick vfat ro 0 0\n".utf8).write(to: URL(fileURLWithPath: mounts))
            #expect(MediaFlasher.refusal(device: loop, image: img, sysRoot: sys, mountsFile: mounts)?.contains("mounted on /media/stick") == true)
        }
    }
}

func isBlockDevice(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFBLK
}

func withFD<T>(_ path: String, _ body: (Int32) throws -> T) throws -> T {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw POSIXError(.ENOENT) }
    defer { close(fd) }
    return try body(fd)
}

enum MediaLayoutFacts {
    static func size(_ path: String) -> UInt64 {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value) ?? 0
    }
}

/// The ISO variant checked without booting (the boot is in MediaBuildBootTests).
@Suite(.serialized) struct MediaBuildISOTests {
    @Test func isoVerifiesAndDamageIsNamed() async throws {
        try await withTemporaryDirectory("media-iso") { dir in
            let s = try MediaBuildTests.setup(dir)
            let iso = dir + "/node.iso"
            let r = try MediaBuildTests.build(s, ["--format", "iso"], output: iso)
            #expect(r.status == 0, "\(r.err)")
            let info = try ProcessRunner.run("isoinfo", ["-d", "-i", iso], check: true).out
            #expect(info.contains("Volume id: metal-iso") && info.contains("El Torito"), "\(info)")
            let ok = try Outpost.run(["media", "verify", iso])
            #expect(ok.status == 0, "\(ok.out)\(ok.err)")
            let listing = try ProcessRunner.run("bsdtar", ["-tf", iso], check: true).out
            #expect(listing.contains("config.yaml") && listing.contains("imagecache/manifests/docker.io/library/nginx/reference/1.27"), "\(listing)")

            let flipped = dir + "/flipped.iso"
            try FileManager.default.copyItem(atPath: iso, toPath: flipped)
            let at = try #require(try MediaFixtures.find(Data("machine:".utf8), in: flipped))
            try MediaFixtures.flipByte(flipped, at: at + 2)
            let bad = try Outpost.run(["media", "verify", flipped])
            #expect(bad.status != 0 && bad.err.contains("config.yaml"), "\(bad.err)")

            // The hybrid partition table's EFI partition moved off the EFI image: named by its byte offset.
            let moved = dir + "/moved.iso"
            try FileManager.default.copyItem(atPath: iso, toPath: moved)
            try MediaFixtures.flipByte(moved, at: 446 + 8)
            let misplaced = try Outpost.run(["media", "verify", moved])
            #expect(misplaced.status != 0 && misplaced.err.contains("hybrid partition table (byte offset 446)"), "\(misplaced.err)")

            let short = dir + "/short.iso"
            try FileManager.default.copyItem(atPath: iso, toPath: short)
            try ProcessRunner.run("truncate", ["-s", "-100K", short], check: true)
            let cut = try Outpost.run(["media", "verify", short])
            #expect(cut.status != 0 && cut.err.contains("truncated"), "\(cut.err)")
        }
    }
}
