import Crypto
import Foundation
import Media
#if canImport(Glibc)
import Glibc
#endif

/// What `outpost media verify` found.
public struct MediaVerifyReport: Sendable, Codable {
    public var image: String
    /// `usb`, `iso`, or `unknown`.
    public var format: String
    public var site: String?
    public var node: String?
    /// Files checked against the manifest.
    public var filesChecked: Int
    /// `verified`, `unsigned`, `not checked` (signed, no key given) or `invalid`.
    public var signature: String
    /// Every problem, each naming the partition or volume, the file and byte offsets.
    public var problems: [String]
    public var ok: Bool { problems.isEmpty }
}

/// Checks a built medium (image file or device) the way a technician's laptop can: the partition table
/// or ISO9660 descriptors, the filesystems and their labels, the manifest's signature, and every file
/// against the manifest's size and SHA-256, reporting all problems with where they are.
public enum MediaVerifier {
    public static func verify(path: String, publicKey: String? = nil) throws -> MediaVerifyReport {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MediaBuilderError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let size = UInt64(max(0, lseek(fd, 0, SEEK_END)))
        var report = MediaVerifyReport(image: path, format: "unknown", filesChecked: 0, signature: "not checked", problems: [])
        if read(fd, at: 512, count: 8) == Array("EFI PART".utf8) {
            report.format = "usb"
            try verifyUSB(fd: fd, size: size, publicKey: publicKey, report: &report)
        } else if read(fd, at: 32769, count: 5) == Array("CD001".utf8) {
            report.format = "iso"
            try verifyISO(path: path, fd: fd, size: size, publicKey: publicKey, report: &report)
        } else {
            report.problems.append("byte offset 512: no GPT header (\"EFI PART\") and byte offset 32769: no ISO9660 descriptor (\"CD001\"): not an Outpost boot medium, or damaged at its start")
        }
        return report
    }

    static func read(_ fd: Int32, at offset: UInt64, count: Int) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: count)
        let n = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        return n == count ? b : []
    }

    static func le64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }
    static func le32(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<4).reduce(UInt64(0)) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }

    // MARK: USB

    static func verifyUSB(fd: Int32, size: UInt64, publicKey: String?, report: inout MediaVerifyReport) throws {
        // The primary header names the backup header's LBA: the image must reach it.
        let header = read(fd, at: 512, count: 92)
        if header.count == 92 {
            let backup = le64(header, 32)
            let needed = (backup + 1) * 512
            if size < needed {
                report.problems.append("image truncated: the GPT says the disk is \(needed) bytes (backup header at LBA \(backup)) but the image has \(size) bytes")
                return
            }
        }
        let disk: GPTDisk
        do { disk = try GPTDisk.read(fd: fd, sizeInBytes: size) } catch {
            report.problems.append("partition table: \(error)")
            return
        }
        let espIndex = disk.partitions.firstIndex { $0.typeGUID.uppercased() == TalosMediaFacts.efiSystemPartitionType }
        let dataIndex = disk.partitions.firstIndex { $0.name == TalosMediaFacts.configVolumeLabel }
        guard let espIndex else { report.problems.append("partition table: no EFI System Partition"); return }
        guard let dataIndex else { report.problems.append("partition table: no partition named \(TalosMediaFacts.configVolumeLabel)"); return }
        func region(_ p: GPTPartition) -> (UInt64, UInt64) { (p.firstLBA * 512, (p.lastLBA - p.firstLBA + 1) * 512) }
        let (espOff, espSize) = region(disk.partitions[espIndex])
        let (dataOff, dataSize) = region(disk.partitions[dataIndex])
        let espName = "partition \(espIndex + 1) (EFI System Partition, byte offset \(espOff))"
        let dataName = "partition \(dataIndex + 1) (\(TalosMediaFacts.configVolumeLabel), byte offset \(dataOff))"
        let esp: FATFileSystemReader, data: FATFileSystemReader
        do { esp = try FATFileSystemReader(fd: fd, offset: espOff, size: espSize) } catch {
            report.problems.append("\(espName): not a readable FAT filesystem: \(error)"); return
        }
        do { data = try FATFileSystemReader(fd: fd, offset: dataOff, size: dataSize) } catch {
            report.problems.append("\(dataName): not a readable FAT filesystem: \(error)"); return
        }
        if !data.label.hasPrefix("TALOS_") {
            report.problems.append("\(dataName): filesystem label \"\(data.label)\" does not start with TALOS_ (Talos ignores its imagecache/)")
        }
        let espSum = hashRegion(fd: fd, offset: espOff, size: espSize)
        try checkVolumes(esp: FATVolume(reader: esp, name: espName),
                         data: FATVolume(reader: data, name: dataName),
                         espSHA256: espSum, espSize: espSize, publicKey: publicKey, report: &report)
    }

    // MARK: ISO

    static func verifyISO(path: String, fd: Int32, size: UInt64, publicKey: String?, report: inout MediaVerifyReport) throws {
        let pvd = read(fd, at: 32768, count: 2048)
        if pvd.count == 2048 {
            let needed = le32(pvd, 80) * 2048
            if size < needed {
                report.problems.append("image truncated: the ISO9660 volume is \(needed) bytes but the image has \(size) bytes")
                return
            }
        }
        let iso: ISO9660Reader
        do { iso = try ISO9660Reader(path: path) } catch {
            report.problems.append("ISO9660 filesystem: \(error)"); return
        }
        if iso.volumeLabel != TalosMediaFacts.configVolumeLabel {
            report.problems.append("ISO9660 volume label is \"\(iso.volumeLabel)\", not \(TalosMediaFacts.configVolumeLabel)")
        }
        guard let boot = try ISOBootImage.find(iso) else {
            report.problems.append("ISO9660: no El Torito UEFI boot image"); return
        }
        checkHybridTable(fd: fd, boot: boot, report: &report)
        let espName = "El Torito EFI boot image (byte offset \(boot.offset))"
        let esp: FATFileSystemReader
        do { esp = try FATFileSystemReader(fd: fd, offset: boot.offset, size: boot.size) } catch {
            report.problems.append("\(espName): not a readable FAT filesystem: \(error)"); return
        }
        let espSum = hashRegion(fd: fd, offset: boot.offset, size: boot.size)
        try checkVolumes(esp: FATVolume(reader: esp, name: espName),
                         data: ISOVolume(reader: iso), espSHA256: espSum, espSize: boot.size, publicKey: publicKey, report: &report)
    }

    /// An ISO's hybrid DOS partition table (what makes it boot when written raw to a USB stick), when it
    /// has one: its EFI System partition must be the El Torito EFI image. An ISO without a table (built
    /// before Outpost wrote one) still boots from optical drives and is not reported.
    static func checkHybridTable(fd: Int32, boot: ISOBootImage, report: inout MediaVerifyReport) {
        let mbr = read(fd, at: 0, count: 512)
        guard mbr.count == 512, mbr[510] == 0x55, mbr[511] == 0xAA else { return }
        guard let k = (0..<4).first(where: { mbr[446 + $0 * 16 + 4] == 0xEF }) else {
            report.problems.append("hybrid partition table (byte offset 446): no EFI System partition (type 0xEF), so the ISO will not boot from a USB stick")
            return
        }
        let entry = 446 + k * 16
        let start = le32(mbr, entry + 8) * 512, bytes = le32(mbr, entry + 12) * 512
        if start != boot.offset || bytes < boot.size {
            report.problems.append("hybrid partition table (byte offset \(entry)): EFI System partition \(k + 1) spans byte offset \(start), \(bytes) bytes, "
                                   + "but the El Torito EFI image is at byte offset \(boot.offset), \(boot.size) bytes")
        }
    }

    // MARK: manifest and files

    static func checkVolumes(esp: some VerifiableVolume, data: some VerifiableVolume, espSHA256: String, espSize: UInt64,
                             publicKey: String?, report: inout MediaVerifyReport) throws {
        let manifestBytes: Data
        switch data.read(MediaManifest.path) {
        case .success(let d): manifestBytes = d
        case .failure(let e):
            report.problems.append("\(data.name): \(MediaManifest.path) is missing or unreadable (\(e)): cannot check the files")
            return
        }
        let manifest: MediaManifest
        do { manifest = try JSONDecoder().decode(MediaManifest.self, from: manifestBytes) } catch {
            report.problems.append("\(data.name): \(MediaManifest.path) is not a media manifest: \(error)"); return
        }
        report.site = manifest.site
        report.node = manifest.node
        let sig = try? data.read(MediaManifest.signaturePath).get()
        switch (sig, publicKey) {
        case (nil, nil): report.signature = "unsigned"
        case (nil, let key?):
            report.signature = "unsigned"
            report.problems.append("\(data.name): \(MediaManifest.signaturePath) is missing but a key (\(key)) was given: the manifest is unsigned")
        case (.some, nil): report.signature = "not checked"
        case (let s?, let key?):
            do {
                try MediaManifest.verifySignature(s, manifest: manifestBytes, keyPath: key)
                report.signature = "verified"
            } catch let e as MediaBuilderError {
                throw e
            } catch {
                report.signature = "invalid"
                report.problems.append("\(data.name): \(MediaManifest.signaturePath) does not verify the manifest with \(key): signed with another key, or the manifest was changed")
            }
        }
        if manifest.espSHA256 != espSHA256 || manifest.espSize != espSize {
            report.problems.append("\(esp.name): contents differ from the manifest (sha256 \(espSHA256), \(espSize) bytes; recorded \(manifest.espSHA256), \(manifest.espSize) bytes)")
        }
        var listed: [String: Set<String>] = ["esp": [], "data": [MediaManifest.path, MediaManifest.signaturePath]]
        for f in manifest.files {
            let volume: any VerifiableVolume = f.volume == "esp" ? esp : data
            listed[f.volume, default: []].insert(f.path)
            report.filesChecked += 1
            switch volume.hash(f.path) {
            case .failure(let why):
                report.problems.append("\(volume.name): file \(f.path): \(why)")
            case .success(let (sum, size)):
                if size != f.size || sum != f.sha256 {
                    report.problems.append("\(volume.name): file \(f.path)\(volume.location(f.path)): "
                        + (size != f.size ? "\(size) bytes, the manifest says \(f.size)" : "sha256 \(sum), the manifest says \(f.sha256)"))
                }
            }
        }
        for (key, volume) in [("esp", esp as any VerifiableVolume), ("data", data as any VerifiableVolume)] {
            for p in volume.files() where !(listed[key]?.contains(p) ?? false) {
                report.problems.append("\(volume.name): file \(p) is not in the manifest")
            }
        }
    }

    /// The region's hash, or "" (which matches nothing) when it cannot be read.
    static func hashRegion(fd: Int32, offset: UInt64, size: UInt64) -> String {
        (try? MediaLayout.hashRegion(fd: fd, offset: offset, size: size, path: "", zerosPastEnd: false)) ?? ""
    }
}

/// A filesystem the verifier reads files from.
protocol VerifiableVolume {
    var name: String { get }
    func files() -> [String]
    /// Streams a file's bytes (the filesystem reader's own call).
    func readFile(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws
    /// Where a file's data lies in the image, for messages (empty when unknown).
    func location(_ path: String) -> String
}

extension VerifiableVolume {
    func read(_ path: String) -> Result<Data, VerifyFailure> {
        var d = Data()
        do { try readFile(path) { d.append(contentsOf: $0) } } catch { return .failure(VerifyFailure(description: "\(error)")) }
        return .success(d)
    }

    func hash(_ path: String) -> Result<(String, UInt64), VerifyFailure> {
        var h = SHA256()
        var n: UInt64 = 0
        do { try readFile(path) { h.update(bufferPointer: $0); n += UInt64($0.count) } } catch {
            return .failure(VerifyFailure(description: "\(error)"))
        }
        return .success((MediaBuilder.hex(h.finalize()), n))
    }
}

struct VerifyFailure: Error, CustomStringConvertible { let description: String }

struct FATVolume: VerifiableVolume {
    let reader: FATFileSystemReader
    let name: String

    func files() -> [String] { ((try? reader.entries()) ?? []).filter { !$0.isDirectory }.map(\.path) }

    func readFile(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws { try reader.readFile(path, body) }

    func location(_ path: String) -> String {
        guard let e = try? reader.entry(path), let off = reader.dataOffset(of: e) else { return "" }
        return " (data from image byte offset \(off))"
    }
}

/// The ISO's data files, read through libarchive (`ISO9660Reader`).
struct ISOVolume: VerifiableVolume {
    let reader: ISO9660Reader
    var name: String { "ISO9660 volume \(reader.volumeLabel)" }

    func files() -> [String] { ((try? reader.entries()) ?? []).filter { !$0.isDirectory }.map(\.path) }

    func readFile(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws { try reader.readFile(path, body) }

    func location(_ path: String) -> String { "" }
}

/// Where an ISO's UEFI El Torito image lies: its byte offset and the size its FAT boot sector declares.
struct ISOBootImage {
    var offset: UInt64
    var size: UInt64

    static func find(_ iso: ISO9660Reader) throws -> ISOBootImage? {
        guard let e = iso.bootEntries.first(where: { $0.platformID == 0xEF && $0.bootable }) ?? iso.bootEntries.first else { return nil }
        let offset = UInt64(e.imageLBA) * 2048
        let fd = open(iso.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MediaBuilderError.io(path: iso.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let bpb = MediaVerifier.read(fd, at: offset, count: 512)
        guard bpb.count == 512 else { return nil }
        let small = UInt64(bpb[19]) | UInt64(bpb[20]) << 8
        let sectors = small != 0 ? small : MediaVerifier.le32(bpb, 32)
        let declared = sectors * 512
        let available = UInt64(iso.volumeSectors) * 2048 > offset ? UInt64(iso.volumeSectors) * 2048 - offset : 0
        let size = declared > 0 ? declared : (e.loadSectors > 0 ? UInt64(e.loadSectors) * 512 : available)
        return ISOBootImage(offset: offset, size: size)
    }
}
