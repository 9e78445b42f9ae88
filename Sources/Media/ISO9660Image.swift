#if canImport(Glibc)
import Glibc
#endif
import OutpostCore

/// An ISO 9660 image with Joliet and Rock Ridge names and a UEFI El Torito boot entry: the boot media
/// for machines that boot from (virtual) optical drives, labelled `metal-iso` so Talos finds its config.
///
/// Written by Outpost itself rather than libarchive's iso9660 writer, because that writer (measured on
/// the build machines, see machine-notes.md) can only write the x86 El Torito platform id where UEFI
/// firmware expects 0xEF, stamps the current time into the volume descriptors and directory records,
/// and spools every file's data into a temporary file before writing the image (twice the I/O for
/// multi-gigabyte media). Patching all of that after the fact means re-parsing every directory record
/// and Rock Ridge TF entry; writing the ~20 structures directly is smaller and reproducible by
/// construction. libarchive remains the independent reader (`ISO9660Reader`).
///
/// Layout: system area (16 sectors; with a boot image, a DOS partition table there makes the image hybrid:
/// it also boots when written raw to a USB stick), primary, El Torito boot record, Joliet supplementary and terminator
/// descriptors, the boot catalog, four path tables, the primary directories (each followed by its Rock
/// Ridge continuation sectors, where libarchive's reader expects them), the Joliet directories, the EFI
/// boot image, then every file in sorted pre-order. Every time is
/// `modificationTime` (Unix seconds, UTC), so the same inputs give the same bytes.
public struct ISO9660Image: Sendable {
    public static let maxFileSize: UInt64 = 0xFFFF_FFFF
    static let sector: UInt64 = 2048

    public let volumeLabel: String
    public let modificationTime: Int64
    let tree: FileTree
    let efiBootImage: MediaFileSource?
    let bootImageSize: UInt64
    /// Per node: ISO 9660 and Joliet identifiers.
    let primaryNames: [[UInt8]]
    let jolietNames: [[UInt8]]
    /// Per directory node: children sorted by each name space's identifiers.
    let primaryChildren: [Int: [Int]]
    let jolietChildren: [Int: [Int]]

    /// Plans an image. `volumeLabel`: ≤ 32 characters of A–Z a–z 0–9 `_ - .`; `efiBootImage`: a FAT
    /// image holding `EFI/BOOT/BOOTX64.EFI` (nil: not bootable); files up to 4 GiB − 1 each.
    public init(volumeLabel: String, files: [MediaFile], efiBootImage: MediaFileSource?, modificationTime: Int64 = 0) throws {
        try ISONames.validateLabel(volumeLabel)
        self.volumeLabel = volumeLabel
        self.modificationTime = modificationTime
        let tree = try FileTree(files: files, caseInsensitive: false, maxFileSize: Self.maxFileSize, validateComponent: ISONames.validate)
        self.tree = tree
        self.efiBootImage = efiBootImage
        bootImageSize = try efiBootImage.map { try SourceReader.size(of: $0, path: "EFI boot image") } ?? 0
        if efiBootImage != nil && bootImageSize == 0 {
            throw MediaError.invalidField("EFI boot image", value: "0 bytes", reason: "must not be empty")
        }
        var pn = [[UInt8]](repeating: [], count: tree.nodes.count), jn = pn
        var pc: [Int: [Int]] = [:], jc: [Int: [Int]] = [:]
        for (id, node) in tree.nodes.enumerated() where node.isDirectory {
            let kids = node.children
            let p = ISONames.primaryNames(kids.map { tree.nodes[$0].name }, isDirectory: kids.map { tree.nodes[$0].isDirectory })
            let j = ISONames.jolietNames(kids.map { tree.nodes[$0].name })
            for (k, child) in kids.enumerated() { pn[child] = p[k]; jn[child] = j[k] }
            pc[id] = kids.sorted { pn[$0].lexicographicallyPrecedes(pn[$1]) }
            jc[id] = kids.sorted { jn[$0].lexicographicallyPrecedes(jn[$1]) }
        }
        primaryNames = pn; jolietNames = jn; primaryChildren = pc; jolietChildren = jc
    }

    /// Writes the image to a temporary file beside `path`, fsyncs and renames it (nothing half-written is
    /// ever left at `path`). `progress` receives the total file bytes written so far.
    public func write(toPath path: String, progress: ((UInt64) -> Void)? = nil) throws {
        let layout = ISOLayout(self)
        do {
            try AtomicFile.writeVia(path: path) { tmp in
                let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw MediaError.io("creating a temporary file \(tmp) for \(path)", offset: 0, reason: ByteIO.errnoText()) }
                defer { close(fd) }
                try layout.write(to: fd, progress: progress)
                guard fsync(fd) == 0 else { throw MediaError.io("syncing \(path)", offset: 0, reason: ByteIO.errnoText()) }
            }
        } catch let e as AtomicFile.Failure {
            throw MediaError.io(path, offset: 0, reason: "\(e)")
        }
    }
}
