import Foundation
import TestSupport

/// The peer pipeline (`mkfs.fat` + `mcopy` + `sgdisk` + `dd`) building the same USB layout Outpost writes:
/// a GPT disk with an EFI System Partition and a `metal-iso` data partition labelled `TALOS_…`. It proves
/// the QEMU harness independently of Outpost's writers, and is the reference `scripts/bench/media` times.
enum PeerDisk {
    /// Builds `output` from two host directories whose trees become the ESP and the data partition.
    static func build(output: String, espTree: String, dataTree: String, dataLabel: String = "TALOS_MEDIA",
                      work: String) throws {
        let mib: UInt64 = 1 << 20
        let espSize = max(64 * mib, roundUp(try treeSize(espTree) * 11 / 10 + 8 * mib, mib))
        let dataSize = max(64 * mib, roundUp(try treeSize(dataTree) * 11 / 10 + 8 * mib, mib))
        let esp = work + "/peer-esp.img", data = work + "/peer-data.img"
        defer { try? FileManager.default.removeItem(atPath: esp); try? FileManager.default.removeItem(atPath: data) }
        for (img, size, label, tree) in [(esp, espSize, "EFI", espTree), (data, dataSize, dataLabel, dataTree)] {
            try? FileManager.default.removeItem(atPath: img)
            try ProcessRunner.run("mkfs.fat", ["-F", "32", "-n", label, "-i", "12345678", "-C", img, String(size / 1024)], check: true)
            let entries = try FileManager.default.contentsOfDirectory(atPath: tree).sorted().map { tree + "/" + $0 }
            if !entries.isEmpty {
                try ProcessRunner.run("mcopy", ["-s", "-Q", "-i", img] + entries + ["::"], check: true)
            }
        }
        let total = mib + espSize + dataSize + mib
        try? FileManager.default.removeItem(atPath: output)
        try ProcessRunner.run("truncate", ["-s", String(total), output], check: true)
        let espStart = mib / 512, dataStart = (mib + espSize) / 512
        try ProcessRunner.run("sgdisk", [
            "-n", "1:\(espStart):\(dataStart - 1)", "-t", "1:ef00", "-c", "1:EFI",
            "-n", "2:\(dataStart):\(dataStart + dataSize / 512 - 1)", "-t", "2:8300", "-c", "2:metal-iso", output,
        ], check: true)
        try ProcessRunner.run("dd", ["if=\(esp)", "of=\(output)", "bs=1M", "seek=1", "conv=notrunc,sparse", "status=none"], check: true)
        try ProcessRunner.run("dd", ["if=\(data)", "of=\(output)", "bs=1M", "seek=\((mib + espSize) / mib)", "conv=notrunc,sparse", "status=none"], check: true)
    }

    static func roundUp(_ v: UInt64, _ to: UInt64) -> UInt64 { (v + to - 1) / to * to }

    static func treeSize(_ dir: String) throws -> UInt64 {
        var total: UInt64 = 0
        let e = FileManager.default.enumerator(atPath: dir)
        while let rel = e?.nextObject() as? String {
            let attrs = try FileManager.default.attributesOfItem(atPath: dir + "/" + rel)
            total += (attrs[.size] as? NSNumber)?.uint64Value ?? 0
        }
        return total
    }

    /// Writes `EFI/BOOT/BOOTX64.EFI` (systemd-boot), `loader/loader.conf`, one entry and the kernel and
    /// initramfs under `dir`: the ESP tree both pipelines produce.
    static func espTree(at dir: String, kernel: String, initramfs: String, options: String) throws {
        let fm = FileManager.default
        for d in ["EFI/BOOT", "loader/entries", "talos"] {
            try fm.createDirectory(atPath: dir + "/" + d, withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: "/usr/lib/systemd/boot/efi/systemd-bootx64.efi", toPath: dir + "/EFI/BOOT/BOOTX64.EFI")
        try fm.copyItem(atPath: kernel, toPath: dir + "/talos/vmlinuz")
        try fm.copyItem(atPath: initramfs, toPath: dir + "/talos/initramfs.xz")
        try Data("default talos.conf\ntimeout 0\n".utf8).write(to: URL(fileURLWithPath: dir + "/loader/loader.conf"))
        try Data("title Talos\nlinux /talos/vmlinuz\ninitrd /talos/initramfs.xz\noptions \(options)\n".utf8)
            .write(to: URL(fileURLWithPath: dir + "/loader/entries/talos.conf"))
    }
}
