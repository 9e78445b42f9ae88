import Foundation
import Media
import Talos
#if canImport(Glibc)
import Glibc
#endif

/// The three files that boot Talos from the ESP: kernel, initramfs and the UEFI boot loader. Taken from
/// the site's Talos ISO (`/boot/vmlinuz`, `/boot/initramfs.xz`, and `EFI/BOOT/BOOTX64.EFI` from the ISO
/// tree or from its El Torito EFI image) or given explicitly; without a boot loader, the host's
/// systemd-boot (Debian's systemd-boot-efi) is used. Outpost never builds Talos's assets.
struct BootAssets {
    var kernel: String
    var initramfs: String
    var loader: String
    /// Where the loader came from, for the build report (a fallback to the host's systemd-boot is worth knowing).
    var loaderSource: String

    static let isoKernel = "boot/vmlinuz"
    static let isoInitramfs = "boot/initramfs.xz"
    static let loaderPath = "EFI/BOOT/BOOTX64.EFI"

    static func resolve(_ spec: Site.Assets, base: String, work: String) throws -> BootAssets {
        switch spec {
        case .kernel(let k, let i, let l):
            let kernel = NodeInputs.resolve(k, against: base), initramfs = NodeInputs.resolve(i, against: base)
            for p in [kernel, initramfs] where !FileManager.default.isReadableFile(atPath: p) {
                throw MediaBuilderError.asset(path: p, reason: "no such readable file")
            }
            let explicit = l.map { NodeInputs.resolve($0, against: base) }
            return BootAssets(kernel: kernel, initramfs: initramfs, loader: try loader(explicit),
                              loaderSource: explicit ?? "host systemd-boot (\(MediaLayout.systemdBoot))")
        case .iso(let p):
            return try extract(iso: NodeInputs.resolve(p, against: base), work: work)
        }
    }

    static func loader(_ explicit: String?) throws -> String {
        if let explicit {
            guard FileManager.default.isReadableFile(atPath: explicit) else { throw MediaBuilderError.asset(path: explicit, reason: "no such readable file") }
            return explicit
        }
        guard FileManager.default.isReadableFile(atPath: MediaLayout.systemdBoot) else {
            throw MediaBuilderError.asset(path: MediaLayout.systemdBoot, reason: "no boot loader given and systemd-boot is not installed (apt-get install systemd-boot-efi), or set talos.assets.bootloader")
        }
        return MediaLayout.systemdBoot
    }

    /// Copies the kernel, initramfs and boot loader out of a Talos ISO into `work`.
    static func extract(iso path: String, work: String) throws -> BootAssets {
        guard FileManager.default.isReadableFile(atPath: path) else { throw MediaBuilderError.asset(path: path, reason: "no such readable file") }
        try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let iso: ISO9660Reader
        do { iso = try ISO9660Reader(path: path) } catch { throw MediaBuilderError.asset(path: path, reason: "not a readable ISO9660 image: \(error)") }
        let entries: [ISOEntry]
        do { entries = try iso.entries() } catch { throw MediaBuilderError.asset(path: path, reason: "\(error)") }
        let names = Set(entries.filter { !$0.isDirectory }.map(\.path))
        func copy(_ inside: String, to name: String) throws -> String {
            let dst = work + "/" + name
            let sink = try BlobFileSink(path: dst)
            do { try iso.readFile(inside) { try sink.write($0) } } catch let e as MediaBuilderError { throw e } catch {
                throw MediaBuilderError.asset(path: "\(path): \(inside)", reason: "\(error)")
            }
            try sink.close()
            return dst
        }
        for needed in [isoKernel, isoInitramfs] where !names.contains(needed) {
            throw MediaBuilderError.asset(path: path, reason: "no /\(needed) in the ISO: not a Talos ISO (give kernel and initramfs explicitly)")
        }
        let kernel = try copy(isoKernel, to: "vmlinuz")
        let initramfs = try copy(isoInitramfs, to: "initramfs.xz")
        if names.contains(loaderPath) {
            return BootAssets(kernel: kernel, initramfs: initramfs, loader: try copy(loaderPath, to: "BOOTX64.EFI"),
                              loaderSource: "\(path): /\(loaderPath)")
        }
        // The loader inside the El Torito EFI image (a FAT filesystem).
        if let boot = try ISOBootImage.find(iso) {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                defer { close(fd) }
                if let fat = try? FATFileSystemReader(fd: fd, offset: boot.offset, size: boot.size),
                   (try? fat.entry(loaderPath)) != nil {
                    let dst = work + "/BOOTX64.EFI"
                    let sink = try BlobFileSink(path: dst)
                    do { try fat.readFile(loaderPath) { try sink.write($0) } } catch {
                        throw MediaBuilderError.asset(path: "\(path): EFI boot image: \(loaderPath)", reason: "\(error)")
                    }
                    try sink.close()
                    return BootAssets(kernel: kernel, initramfs: initramfs, loader: dst,
                                      loaderSource: "\(path): El Torito EFI image, \(loaderPath)")
                }
            }
        }
        // No loader in the ISO tree, and no readable FAT El Torito image holding one.
        return BootAssets(kernel: kernel, initramfs: initramfs, loader: try loader(nil),
                          loaderSource: "host systemd-boot (\(MediaLayout.systemdBoot)): none found in \(path)")
    }
}
