import Crypto
import Foundation
import Testing
import TestSupport

/// The QEMU/OVMF harness and the test initramfs, proven on a disk made by the peer tools alone
/// (mkfs.fat, mcopy, sgdisk, dd): if this fails, the boot tests of Outpost's own media mean nothing.
@Suite(.serialized) struct MediaBuildHarnessTests {
    @Test func peerDiskBootsUnderOVMFAndInitFindsTheConfigVolume() async throws {
        try await withTemporaryDirectory("media-harness") { dir in
            let fm = FileManager.default
            let config = Data("version: v1alpha1\nmachine: {type: worker}\n".utf8)
            let manifest = "imagecache/manifests/registry.k8s.io/pause/reference/3.10.1"
            let data = dir + "/data"
            try fm.createDirectory(atPath: data + "/" + (manifest as NSString).deletingLastPathComponent,
                                   withIntermediateDirectories: true)
            try config.write(to: URL(fileURLWithPath: data + "/config.yaml"))
            try Data("{}".utf8).write(to: URL(fileURLWithPath: data + "/" + manifest))

            let kernel = try TestInitramfs.hostKernel()
            let sum = SHA256.hash(data: config).map { String(format: "%02x", $0) }.joined()
            try TestInitramfs.build(output: dir + "/initramfs", kernelVersion: kernel.version, configSHA256: sum,
                                    expectedFiles: [manifest], workDirectory: dir)
            try PeerDisk.espTree(at: dir + "/esp", kernel: kernel.path, initramfs: dir + "/initramfs",
                                 options: "talos.config=metal-iso console=ttyS0")
            try PeerDisk.build(output: dir + "/disk.img", espTree: dir + "/esp", dataTree: data, work: dir)

            let boot = try await QEMU.boot(.disk(dir + "/disk.img"), marker: TestInitramfs.successMarker,
                                           failureMarker: TestInitramfs.failureMarker, workDirectory: dir)
            #expect(boot.succeeded, "console:\n\(boot.console.suffix(3000))")
        }
    }
}
