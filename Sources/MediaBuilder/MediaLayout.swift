import Crypto
import Foundation
import OCI
import Media
import OutpostCore
#if canImport(Glibc)
import Glibc
#endif

/// The layout of Outpost's boot media and the writing of it through the `Media` writers.
///
/// USB (raw GPT disk): protective MBR + GPT; partition 1 the EFI System Partition (FAT32, label `EFI`)
/// with systemd-boot as `EFI/BOOT/BOOTX64.EFI`, `loader/loader.conf`, `loader/entries/talos.conf`, the
/// kernel and initramfs under `talos/`; partition 2 named `metal-iso` (FAT32, label `TALOS_MEDIA`) with
/// `config.yaml`, `imagecache/` and `outpost/`. Partitions start on 1 MiB boundaries.
///
/// ISO: ISO9660 volume `metal-iso` holding the data files; the El Torito UEFI boot image is the ESP as a
/// FAT image. GUIDs and volume IDs are derived from the inputs, so the same inputs give the same bytes.
struct MediaLayout {
    static let fat32MaxFileSize: UInt64 = 0xFFFF_FFFF
    static let mib: UInt64 = 1 << 20
    static let dataLabel = "TALOS_MEDIA"
    static let espLabel = "EFI"
    static let espPartitionName = "EFI"
    /// The El Torito image limit recorded in machine-notes.md (libarchive's boot-load-size field).
    static let isoBootImageLimit: UInt64 = 32 << 20
    static let systemdBoot = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"

    var seed: String
    var espFiles: [MediaFile]
    var dataFiles: [MediaFile]
    var manifest: MediaManifest
    var signingKey: String?
    var progress: ProgressReporter

    // MARK: the ESP's files

    struct ESP {
        var files: [MediaFile]
        var sha256: [String: String]
    }

    /// The ESP tree: boot loader, its configuration, one entry booting the Talos kernel with `kernelArguments`.
    static func espFiles(assets: BootAssets, kernelArguments: [String], maxFileSize: UInt64) throws -> ESP {
        let initrdName = assets.initramfs.hasSuffix(".xz") ? "talos/initramfs.xz" : "talos/initramfs"
        let loaderConf = Data("default talos.conf\ntimeout 0\nconsole-mode keep\neditor no\n".utf8)
        let entry = Data("""
            title Talos (Outpost boot media)
            linux /talos/vmlinuz
            initrd /\(initrdName)
            options \(kernelArguments.joined(separator: " "))

            """.utf8)
        var files: [MediaFile] = []
        var sums: [String: String] = [:]
        for (path, host) in [("EFI/BOOT/BOOTX64.EFI", assets.loader), ("talos/vmlinuz", assets.kernel), (initrdName, assets.initramfs)] {
            let size = ImageCache.fileSize(host)
            guard size <= maxFileSize else {
                throw MediaBuilderError.tooLarge(what: host, size: size, limit: maxFileSize, hint: "FAT32 holds at most 4 GiB - 1 per file")
            }
            files.append(MediaFile(path: path, source: .file(path: host)))
            sums[path] = try Digest.sha256(file: host).digest.hex
        }
        for (path, data) in [("loader/loader.conf", loaderConf), ("loader/entries/talos.conf", entry)] {
            files.append(MediaFile(path: path, source: .bytes([UInt8](data))))
            sums[path] = MediaBuilder.hex(SHA256.hash(data: data))
        }
        return ESP(files: files.sorted { $0.path < $1.path }, sha256: sums)
    }

    static func size(of source: MediaFileSource) throws -> UInt64 {
        switch source {
        case .bytes(let b): return UInt64(b.count)
        case .file(let p):
            var st = stat()
            guard stat(p, &st) == 0 else { throw MediaBuilderError.io(path: p, reason: String(cString: strerror(errno))) }
            return UInt64(st.st_size)
        }
    }

    static func roundUp(_ v: UInt64, _ to: UInt64) -> UInt64 { (v + to - 1) / to * to }

    func volumeID(_ what: String) -> UInt32 {
        let d = Array(SHA256.hash(data: Data((seed + "/" + what).utf8)))
        return UInt32(d[0]) << 24 | UInt32(d[1]) << 16 | UInt32(d[2]) << 8 | UInt32(d[3])
    }

    func format<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as MediaBuilderError { throw e } catch {
            throw MediaBuilderError.format(what: what, reason: "\(error)")
        }
    }

    /// The data volume's files: the payload plus the manifest (with the ESP's hash) and its signature.
    func dataFilesWithManifest(espSHA256: String, espSize: UInt64) throws -> [MediaFile] {
        var m = manifest
        m.espSHA256 = espSHA256
        m.espSize = espSize
        let bytes = try m.encoded()
        var files = dataFiles + [MediaFile(path: MediaManifest.path, source: .bytes([UInt8](bytes)))]
        if let signingKey {
            files.append(MediaFile(path: MediaManifest.signaturePath,
                                   source: .bytes([UInt8](try MediaManifest.signature(for: bytes, keyPath: signingKey)))))
        }
        return files
    }

    func writeVolume(_ v: FAT32Volume, fd: Int32, offset: UInt64, size: UInt64, phase: String, payload: UInt64) throws {
        progress.begin(phase, total: Int64(payload), unit: .bytes)
        defer { progress.end(phase) }
        var last: UInt64 = 0
        try format("FAT32 volume \(v.label)") {
            try v.write(to: fd, offset: offset, size: size) { done in
                progress.advance(phase, by: Int64(done) - Int64(last)); last = done
            }
        }
    }

    static func payloadBytes(_ files: [MediaFile]) -> UInt64 {
        files.reduce(0) { $0 + ((try? size(of: $1.source)) ?? 0) }
    }

    // MARK: USB

    /// Writes the GPT disk image to `path` (a new file); returns its size.
    func writeUSB(to path: String) throws -> UInt64 {
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MediaBuilderError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let esp = try format("the EFI System Partition") { try FAT32Volume(label: Self.espLabel, volumeID: volumeID("esp"), files: espFiles) }
        let espSize = Self.roundUp(try format("the EFI System Partition") { try esp.minimumSize() }, Self.mib)
        let espOffset = Self.mib
        try writeVolume(esp, fd: fd, offset: espOffset, size: espSize, phase: "writing EFI System Partition",
                        payload: Self.payloadBytes(espFiles))
        let espSum = try Self.hashRegion(fd: fd, offset: espOffset, size: espSize, path: path, zerosPastEnd: true)

        let files = try dataFilesWithManifest(espSHA256: espSum, espSize: espSize)
        let data = try format("the metal-iso data partition") { try FAT32Volume(label: Self.dataLabel, volumeID: volumeID("data"), files: files) }
        let dataSize = Self.roundUp(try format("the metal-iso data partition") { try data.minimumSize() }, Self.mib)
        let dataOffset = espOffset + espSize
        let total = dataOffset + dataSize + Self.mib
        guard ftruncate(fd, off_t(total)) == 0 else { throw MediaBuilderError.io(path: path, reason: String(cString: strerror(errno))) }

        let disk = try format("the GPT partition table") {
            try GPTDisk(diskGUID: GPTDisk.deterministicGUID(seed + "/disk"), sizeInBytes: total, partitions: [
                GPTPartition(name: Self.espPartitionName, typeGUID: TalosMediaFacts.efiSystemPartitionType,
                             uniqueGUID: GPTDisk.deterministicGUID(seed + "/esp"),
                             firstLBA: espOffset / 512, lastLBA: (espOffset + espSize) / 512 - 1, attributes: 0),
                GPTPartition(name: TalosMediaFacts.configVolumeLabel, typeGUID: TalosMediaFacts.linuxDataPartitionType,
                             uniqueGUID: GPTDisk.deterministicGUID(seed + "/data"),
                             firstLBA: dataOffset / 512, lastLBA: (dataOffset + dataSize) / 512 - 1, attributes: 0),
            ])
        }
        try format("the GPT partition table") { try disk.write(to: fd) }
        try writeVolume(data, fd: fd, offset: dataOffset, size: dataSize, phase: "writing metal-iso data partition",
                        payload: Self.payloadBytes(files))
        guard fsync(fd) == 0 else { throw MediaBuilderError.io(path: path, reason: String(cString: strerror(errno))) }
        return total
    }

    /// SHA-256 of `size` bytes at `offset` of `fd`. The builder hashes the ESP of an image still being
    /// written, whose sparse tail reads as end of file: `zerosPastEnd` counts it as the zeros it will be.
    /// The verifier stops there instead, so a truncated image never matches.
    static func hashRegion(fd: Int32, offset: UInt64, size: UInt64, path: String, zerosPastEnd: Bool) throws -> String {
        var hasher = SHA256()
        let bufSize = 4 << 20
        let buf = UnsafeMutableRawPointer.allocate(byteCount: bufSize, alignment: 4096)
        defer { buf.deallocate() }
        var done: UInt64 = 0
        while done < size {
            let want = Int(min(UInt64(bufSize), size - done))
            let n = pread(fd, buf, want, off_t(offset + done))
            if n < 0 { if errno == EINTR { continue }; throw MediaBuilderError.io(path: path, reason: String(cString: strerror(errno))) }
            if n == 0 {
                guard zerosPastEnd else { break }
                memset(buf, 0, want)
                hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buf, count: want))
                done += UInt64(want)
                continue
            }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buf, count: n))
            done += UInt64(n)
        }
        return MediaBuilder.hex(hasher.finalize())
    }

    // MARK: ISO

    /// Writes the ISO to `path`; the El Torito EFI image is built in `work` first. Returns the ISO's size.
    func writeISO(to path: String, work: String) throws -> UInt64 {
        let esp = try format("the EFI boot image") { try FAT32Volume(label: Self.espLabel, volumeID: volumeID("esp"), files: espFiles) }
        let espSize = Self.roundUp(try format("the EFI boot image") { try esp.minimumSize() }, 2048)
        let espPath = work + "/efiboot.img"
        let fd = open(espPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MediaBuilderError.io(path: espPath, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard ftruncate(fd, off_t(espSize)) == 0 else { throw MediaBuilderError.io(path: espPath, reason: String(cString: strerror(errno))) }
        try writeVolume(esp, fd: fd, offset: 0, size: espSize, phase: "writing EFI boot image", payload: Self.payloadBytes(espFiles))
        let espSum = try Self.hashRegion(fd: fd, offset: 0, size: espSize, path: espPath, zerosPastEnd: true)
        let files = try dataFilesWithManifest(espSHA256: espSum, espSize: espSize)
        let iso = try format("the ISO9660 image") {
            try ISO9660Image(volumeLabel: TalosMediaFacts.configVolumeLabel, files: files, efiBootImage: .file(path: espPath),
                             modificationTime: 0)
        }
        let phase = "writing ISO9660 image"
        progress.begin(phase, total: Int64(Self.payloadBytes(files) + espSize), unit: .bytes)
        var last: UInt64 = 0
        try format("the ISO9660 image") {
            try iso.write(toPath: path) { done in progress.advance(phase, by: Int64(done) - Int64(last)); last = done }
        }
        progress.end(phase)
        return ImageCache.fileSize(path)
    }
}
