#if canImport(Glibc)
import Glibc
#endif

/// A FAT32 filesystem written by Outpost itself: the boot media's EFI System Partition and data partition
/// are built as bytes in an image file, because loop mounts work neither on the build machines nor on a
/// technician's locked-down laptop, and `mkfs.fat` is not available at run time.
///
/// The layout follows Microsoft's FAT specification as `mkfs.fat` would make it: 512-byte sectors, the
/// cluster size picked from the volume size (≤ 260 MiB: 512 B, ≤ 8 GiB: 4 KiB, ≤ 16 GiB: 8 KiB,
/// ≤ 32 GiB: 16 KiB, larger: 32 KiB), 32 reserved sectors, two FATs, FSInfo in sector 1, the backup
/// boot sector in sector 6, media 0xF8. Directories come first in the data area, then every file in one
/// contiguous run of clusters, in sorted pre-order. All timestamps are 1980-01-01 00:00, so the same
/// inputs give the same bytes.
public struct FAT32Volume: Sendable {
    public static let maxFileSize: UInt64 = 0xFFFF_FFFF
    static let reservedSectors: UInt64 = 32
    static let minimumClusters: UInt64 = 65525
    static let maximumClusters: UInt64 = 0x0FFF_FFF5 - 2

    public let label: String
    public let volumeID: UInt32
    let labelBytes: [UInt8]?
    let tree: FileTree
    /// Per node: 11-byte short name and whether LFN entries precede it.
    let shortNames: [[UInt8]]
    let needsLFN: [Bool]
    /// Per directory node: its size in bytes (32-byte entries).
    let directoryBytes: [Int: UInt64]

    /// Plans a volume holding `files`. Paths are checked against FAT's long-name rules, names that differ
    /// only in case collide, files larger than 4 GiB − 1 are refused, and `label` must be ≤ 11 upper-case
    /// short-name characters (empty: no label). `.file` sources are stat'ed now and re-checked when written.
    public init(label: String, volumeID: UInt32, files: [MediaFile]) throws {
        self.label = label
        self.volumeID = volumeID
        labelBytes = try FATNames.labelBytes(label)
        let tree = try FileTree(files: files, caseInsensitive: true, maxFileSize: Self.maxFileSize,
                                validateComponent: FATNames.validateLongName)
        self.tree = tree
        let labelBytes = self.labelBytes
        var shorts = [[UInt8]](repeating: [], count: tree.nodes.count)
        var lfn = [Bool](repeating: false, count: tree.nodes.count)
        var dirBytes: [Int: UInt64] = [:]
        for (id, node) in tree.nodes.enumerated() where node.isDirectory {
            let assigned = FATNames.assignShortNames(node.children.map { tree.nodes[$0].name })
            var entries: UInt64 = id == 0 ? (labelBytes == nil ? 0 : 1) : 2
            for (k, child) in node.children.enumerated() {
                shorts[child] = assigned[k].short
                lfn[child] = assigned[k].needsLFN
                entries += 1 + (assigned[k].needsLFN ? UInt64((tree.nodes[child].name.utf16.count + 12) / 13) : 0)
            }
            guard entries <= 65536 else {
                throw MediaError.invalidPath(node.path.isEmpty ? "/" : node.path,
                                             reason: "directory needs \(entries) entries; FAT allows 65536")
            }
            dirBytes[id] = entries * 32
        }
        shortNames = shorts
        needsLFN = lfn
        directoryBytes = dirBytes
    }

    // MARK: geometry

    struct Geometry {
        var totalSectors: UInt64
        var sectorsPerCluster: UInt64
        var fatSectors: UInt64
        var clusters: UInt64
        var clusterBytes: UInt64 { sectorsPerCluster * 512 }
        var dataStartSector: UInt64 { FAT32Volume.reservedSectors + 2 * fatSectors }
    }

    /// `mkfs.fat`'s FAT32 cluster size for a volume of `bytes` (in sectors per cluster).
    static func sectorsPerCluster(forBytes bytes: UInt64) -> UInt64 {
        let mib = bytes >> 20
        if mib <= 260 { return 1 }
        if mib <= 8 * 1024 { return 8 }
        if mib <= 16 * 1024 { return 16 }
        if mib <= 32 * 1024 { return 32 }
        return 64
    }

    static func geometry(totalSectors t: UInt64) -> Geometry {
        let spc = sectorsPerCluster(forBytes: t * 512)
        // The smallest FAT that can map every cluster left after the FATs themselves.
        var f: UInt64 = 1
        var hi = (t / spc + 2 + 127) / 128 + 1
        while f < hi {
            let mid = (f + hi) / 2
            let rest = t > reservedSectors + 2 * mid ? (t - reservedSectors - 2 * mid) / spc : 0
            if mid * 128 >= rest + 2 { hi = mid } else { f = mid + 1 }
        }
        let clusters = t > reservedSectors + 2 * f ? (t - reservedSectors - 2 * f) / spc : 0
        return Geometry(totalSectors: t, sectorsPerCluster: spc, fatSectors: f, clusters: clusters)
    }

    /// Clusters the directories and files need with `clusterBytes` per cluster.
    func clustersNeeded(clusterBytes: UInt64) -> UInt64 {
        var n: UInt64 = 0
        for (id, node) in tree.nodes.enumerated() {
            let bytes = node.isDirectory ? max(directoryBytes[id] ?? 0, 32) : node.size
            n += (bytes + clusterBytes - 1) / clusterBytes
        }
        return n
    }

    /// The smallest volume size (bytes, a multiple of 512) that holds every file and is a valid FAT32
    /// volume (at least 65525 clusters, so about 33 MiB even when empty).
    public func minimumSize() throws -> UInt64 {
        for spc: UInt64 in [1, 8, 16, 32, 64] {
            let n = max(clustersNeeded(clusterBytes: spc * 512), Self.minimumClusters)
            let f = (n + 2 + 127) / 128
            let t = Self.reservedSectors + 2 * f + n * spc
            if Self.sectorsPerCluster(forBytes: t * 512) == spc {
                guard n <= Self.maximumClusters else { break }
                return t * 512
            }
        }
        throw MediaError.tooSmall("FAT32 volume \(label)", needed: UInt64.max, available: 0x0FFF_FFF5 * 32768)
    }
}
