import Foundation

/// A tiny initramfs standing in for Talos's in boot-media tests: busybox-static, the Debian kernel
/// modules needed to see the boot medium (with their dependencies from `modules.dep`, decompressed when
/// they ship as `.ko.xz`/`.ko.zst`), and an `/init` that does what Talos does with `talos.config=metal-iso`:
/// find the volume whose filesystem label or GPT partition name is `metal-iso`, mount it read-only, check
/// `config.yaml` against a hash baked in by the test and that `imagecache/` holds the expected manifests,
/// then print a marker on the console and power off.
///
/// The archive is a `newc` cpio written by the real `cpio` program.
public enum TestInitramfs {
    /// What the `/init` prints when every check passed.
    public static let successMarker = "OUTPOST-MEDIA-BOOT-OK"
    /// What it prints (followed by a reason) when a check failed.
    public static let failureMarker = "OUTPOST-MEDIA-BOOT-FAIL"

    /// Modules to read a virtio disk (USB image) or an AHCI CD-ROM (ISO) with FAT or ISO9660 on it.
    public static let defaultModules = [
        "virtio_pci", "virtio_blk", "ahci", "sr_mod", "isofs", "vfat", "nls_cp437", "nls_ascii", "nls_utf8",
    ]

    /// The Debian kernel installed on this machine (`/boot/vmlinuz-<ver>`) and its version.
    public static func hostKernel() throws -> (path: String, version: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []
        guard let name = names.filter({ $0.hasPrefix("vmlinuz-") }).sorted().last else {
            throw TestInitramfsError("no /boot/vmlinuz-*: install linux-image-amd64 (scripts/install-deps)")
        }
        return ("/boot/" + name, String(name.dropFirst("vmlinuz-".count)))
    }

    /// Builds the initramfs at `output`.
    /// - `configSHA256`: the hex SHA-256 `config.yaml` must have.
    /// - `expectedFiles`: paths relative to the volume root that must exist (e.g. image-cache manifests).
    public static func build(output: String, kernelVersion: String, configSHA256: String, expectedFiles: [String],
                             modules: [String] = defaultModules, workDirectory: String) throws {
        let root = workDirectory + "/initramfs-root"
        let fm = FileManager.default
        try? fm.removeItem(atPath: root)
        for d in ["bin", "dev", "proc", "sys", "mnt", "lib/modules"] {
            try fm.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
        }
        guard let busybox = ProcessRunner.which("busybox") else { throw TestInitramfsError("busybox not found (busybox-static)") }
        try fm.copyItem(atPath: busybox, toPath: root + "/bin/busybox")

        let ordered = try moduleLoadOrder(modules, kernelVersion: kernelVersion)
        var names: [String] = []
        for rel in ordered {
            let src = "/lib/modules/\(kernelVersion)/\(rel)"
            var base = URL(fileURLWithPath: rel).lastPathComponent
            let dst: String
            if base.hasSuffix(".ko.xz") || base.hasSuffix(".ko.zst") {
                base = String(base[..<base.range(of: ".ko")!.upperBound])
                dst = root + "/lib/modules/" + base
                let tool = rel.hasSuffix(".xz") ? "xz" : "zstd"
                let r = try ProcessRunner.run(tool, ["-dc", src], check: true)
                try r.stdout.write(to: URL(fileURLWithPath: dst))
            } else {
                dst = root + "/lib/modules/" + base
                try fm.copyItem(atPath: src, toPath: dst)
            }
            names.append(base)
        }

        let checks = expectedFiles.map { f in
            "[ -e \"/mnt/\(f)\" ] || fail \"missing \(f)\""
        }.joined(separator: "\n")
        let script = """
            #!/bin/busybox sh
            /bin/busybox --install -s /bin
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            mount -t devtmpfs devtmpfs /dev
            fail() { echo "\(failureMarker): $*"; poweroff -f; sleep 5; exit 1; }
            for m in \(names.joined(separator: " ")); do insmod /lib/modules/$m 2>/dev/null; done
            dev=""
            i=0
            while [ $i -lt 100 ] && [ -z "$dev" ]; do
              for u in /sys/class/block/*/uevent; do
                if grep -q '^PARTNAME=\(labelToken)$' "$u"; then
                  dev=/dev/$(sed -n 's/^DEVNAME=//p' "$u")
                fi
              done
              [ -z "$dev" ] && dev=$(findfs LABEL=\(labelToken) 2>/dev/null)
              [ -z "$dev" ] && { sleep 0.2; i=$((i+1)); }
            done
            [ -n "$dev" ] || fail "no volume labelled \(labelToken)"
            echo "found \(labelToken) volume: $dev"
            mount -o ro "$dev" /mnt 2>/dev/null || mount -t vfat -o ro "$dev" /mnt || mount -t iso9660 -o ro "$dev" /mnt || fail "cannot mount $dev"
            sum=$(sha256sum /mnt/config.yaml | cut -d' ' -f1)
            [ "$sum" = "\(configSHA256)" ] || fail "config.yaml sha256 $sum"
            \(checks)
            echo "\(successMarker)"
            poweroff -f
            sleep 5
            """
        try Data(script.utf8).write(to: URL(fileURLWithPath: root + "/init"))
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/init")
        let quoted = output.replacingOccurrences(of: "'", with: "'\\''")
        try ProcessRunner.run("sh", ["-c", "cd '\(root)' && find . | cpio -o -H newc --quiet > '\(quoted)'"], check: true)
        try? fm.removeItem(atPath: root)
    }

    private static let labelToken = "metal-iso"

    /// Module files (relative to /lib/modules/<ver>) in load order: dependencies first, each once.
    static func moduleLoadOrder(_ modules: [String], kernelVersion: String) throws -> [String] {
        let depPath = "/lib/modules/\(kernelVersion)/modules.dep"
        guard let text = try? String(contentsOfFile: depPath, encoding: .utf8) else {
            throw TestInitramfsError("cannot read \(depPath)")
        }
        var deps: [String: [String]] = [:]
        var byName: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let file = String(line[..<colon])
            deps[file] = line[line.index(after: colon)...].split(separator: " ").map(String.init)
            let base = URL(fileURLWithPath: file).lastPathComponent
            let name = String(base[..<(base.range(of: ".ko")?.lowerBound ?? base.endIndex)]).replacingOccurrences(of: "-", with: "_")
            byName[name] = file
        }
        var order: [String] = []
        var seen = Set<String>()
        func visit(_ file: String) {
            guard seen.insert(file).inserted else { return }
            for d in (deps[file] ?? []).reversed() { visit(d) }  // modprobe loads the listed dependencies last to first
            order.append(file)
        }
        for m in modules {
            // Built into the kernel (not in modules.dep): nothing to load.
            if let file = byName[m.replacingOccurrences(of: "-", with: "_")] { visit(file) }
        }
        return order
    }
}

public struct TestInitramfsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
