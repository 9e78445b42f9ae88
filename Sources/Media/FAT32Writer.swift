#if canImport(Glibc)
import Glibc
#endif

extension FAT32Volume {
    /// The fixed timestamp of every entry: 1980-01-01 00:00:00 (the DOS epoch), for reproducible bytes.
    static let fixedDate: UInt16 = (0 << 9) | (1 << 5) | 1
    static let fixedTime: UInt16 = 0
    static let endOfChain: UInt32 = 0x0FFF_FFFF

    /// First cluster and cluster count of every node: directories first (pre-order, root = cluster 2),
    /// then files (pre-order), each in one contiguous run.
    func allocate(clusterBytes: UInt64) -> (first: [UInt32], count: [UInt64]) {
        var first = [UInt32](repeating: 0, count: tree.nodes.count)
        var count = [UInt64](repeating: 0, count: tree.nodes.count)
        var next: UInt64 = 2
        let order = tree.preOrder()
        for id in order where tree.nodes[id].isDirectory {
            let c = (max(directoryBytes[id] ?? 0, 32) + clusterBytes - 1) / clusterBytes
            first[id] = UInt32(next); count[id] = c; next += c
        }
        for id in order where !tree.nodes[id].isDirectory && tree.nodes[id].size > 0 {
            let c = (tree.nodes[id].size + clusterBytes - 1) / clusterBytes
            first[id] = UInt32(next); count[id] = c; next += c
        }
        return (first, count)
    }

    static func shortEntry(name: [UInt8], attributes: UInt8, cluster: UInt32, size: UInt32) -> [UInt8] {
        var e = [UInt8](repeating: 0, count: 32)
        e.replaceSubrange(0..<11, with: name)
        e[11] = attributes
        ByteIO.put16(&e, 14, fixedTime); ByteIO.put16(&e, 16, fixedDate)   // creation
        ByteIO.put16(&e, 18, fixedDate)                                      // last access
        ByteIO.put16(&e, 20, UInt16(cluster >> 16))
        ByteIO.put16(&e, 22, fixedTime); ByteIO.put16(&e, 24, fixedDate)   // modification
        ByteIO.put16(&e, 26, UInt16(cluster & 0xFFFF))
        ByteIO.put32(&e, 28, size)
        return e
    }

    /// The bytes of directory `id`, padded with zeros to whole clusters.
    func directoryContents(_ id: Int, first: [UInt32], clusterBytes: UInt64, count: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Int(count * clusterBytes))
        let node = tree.nodes[id]
        if id == 0 {
            if let labelBytes { out += Self.shortEntry(name: labelBytes, attributes: 0x08, cluster: 0, size: 0) }
        } else {
            let parentCluster = node.parent == 0 ? 0 : first[node.parent]
            out += Self.shortEntry(name: Array(".          ".utf8), attributes: 0x10, cluster: first[id], size: 0)
            out += Self.shortEntry(name: Array("..         ".utf8), attributes: 0x10, cluster: parentCluster, size: 0)
        }
        for child in node.children {
            let c = tree.nodes[child]
            if needsLFN[child] { for e in FATNames.lfnEntries(c.name, short: shortNames[child]) { out += e } }
            out += Self.shortEntry(name: shortNames[child], attributes: c.isDirectory ? 0x10 : 0x20,
                                   cluster: first[child], size: c.isDirectory ? 0 : UInt32(c.size))
        }
        out += [UInt8](repeating: 0, count: Int(count * clusterBytes) - out.count)
        return out
    }

    func bootSector(_ g: Geometry, hiddenSectors: UInt32, freeClusters: UInt64, nextFree: UInt64) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: Int(Self.reservedSectors) * 512)
        b[0] = 0xEB; b[1] = 0x58; b[2] = 0x90
        ByteIO.put(&b, 3, "OUTPOST ", width: 8)
        ByteIO.put16(&b, 11, 512)
        b[13] = UInt8(g.sectorsPerCluster)
        ByteIO.put16(&b, 14, UInt16(Self.reservedSectors))
        b[16] = 2
        b[21] = 0xF8
        ByteIO.put16(&b, 24, 63); ByteIO.put16(&b, 26, 255)
        ByteIO.put32(&b, 28, hiddenSectors)
        ByteIO.put32(&b, 32, UInt32(g.totalSectors))
        ByteIO.put32(&b, 36, UInt32(g.fatSectors))
        ByteIO.put32(&b, 44, 2)          // root directory cluster
        ByteIO.put16(&b, 48, 1)          // FSInfo sector
        ByteIO.put16(&b, 50, 6)          // backup boot sector
        b[64] = 0x80
        b[66] = 0x29
        ByteIO.put32(&b, 67, volumeID)
        b.replaceSubrange(71..<82, with: labelBytes ?? Array("NO NAME    ".utf8))
        ByteIO.put(&b, 82, "FAT32   ", width: 8)
        b[510] = 0x55; b[511] = 0xAA
        // FSInfo
        ByteIO.put32(&b, 512, 0x4161_5252)
        ByteIO.put32(&b, 512 + 484, 0x6141_7272)
        ByteIO.put32(&b, 512 + 488, UInt32(freeClusters))
        ByteIO.put32(&b, 512 + 492, UInt32(nextFree))
        ByteIO.put32(&b, 512 + 508, 0xAA55_0000)
        // Third boot sector (signature only), then the backups of all three at sectors 6–8.
        b[1024 + 510] = 0x55; b[1024 + 511] = 0xAA
        b.replaceSubrange(6 * 512..<9 * 512, with: b[0..<1536])
        return b
    }

    /// Writes the volume into `fd` at byte `offset`, `size` bytes long (a multiple of 512, at least
    /// `minimumSize()`). A regular file shorter than `offset + size` is extended. Free clusters are not
    /// written (they read as zeros in a fresh file). `progress` receives the total file bytes written so far.
    public func write(to fd: Int32, offset: UInt64, size: UInt64, progress: ((UInt64) -> Void)? = nil) throws {
        guard size % 512 == 0, offset % 512 == 0 else {
            throw MediaError.invalidField("FAT32 volume size/offset", value: "\(size)@\(offset)", reason: "must be multiples of 512")
        }
        let g = Self.geometry(totalSectors: size / 512)
        let allocation = allocate(clusterBytes: g.clusterBytes)
        let used = allocation.count.reduce(0, +)
        guard g.clusters >= Self.minimumClusters, used <= g.clusters, g.totalSectors <= UInt64(UInt32.max) else {
            let what = "FAT32 volume \(label) (\(g.clusters) clusters of \(g.clusterBytes) bytes; FAT32 needs ≥ 65525 and its files \(used))"
            throw MediaError.tooSmall(what, needed: max(try minimumSize(), size + g.clusterBytes * (used > g.clusters ? used - g.clusters : 0)), available: size)
        }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, UInt64(st.st_size) < offset + size {
            guard ftruncate(fd, off_t(offset + size)) == 0 else {
                throw MediaError.io("extending the image for FAT32 volume \(label)", offset: offset + size, reason: ByteIO.errnoText())
            }
        }
        let base = offset
        let fatOffset = base + Self.reservedSectors * 512
        let dataOffset = base + g.dataStartSector * 512
        func clusterOffset(_ c: UInt32) -> UInt64 { dataOffset + UInt64(c - 2) * g.clusterBytes }

        // Reserved region: boot sector, FSInfo, backups.
        let reserved = bootSector(g, hiddenSectors: UInt32(truncatingIfNeeded: offset / 512),
                                  freeClusters: g.clusters - used, nextFree: 2 + used)
        try ByteIO.pwriteAll(fd, reserved, at: base, what: "FAT32 \(label) boot sector")

        // Both FATs, built in memory and written in one go each.
        var fat = [UInt8](repeating: 0, count: Int(g.fatSectors * 512))
        ByteIO.put32(&fat, 0, 0x0FFF_FFF8)
        ByteIO.put32(&fat, 4, 0x0FFF_FFFF)
        for id in tree.nodes.indices where allocation.count[id] > 0 {
            let first = allocation.first[id], n = UInt32(allocation.count[id])
            for k in 0..<n {
                let c = first + k
                ByteIO.put32(&fat, Int(c) * 4, k == n - 1 ? Self.endOfChain : c + 1)
            }
        }
        try ByteIO.pwriteAll(fd, fat, at: fatOffset, what: "FAT32 \(label) FAT 1")
        try ByteIO.pwriteAll(fd, fat, at: fatOffset + g.fatSectors * 512, what: "FAT32 \(label) FAT 2")
        fat = []

        for id in tree.preOrder() where tree.nodes[id].isDirectory {
            let bytes = directoryContents(id, first: allocation.first, clusterBytes: g.clusterBytes, count: allocation.count[id])
            try ByteIO.pwriteAll(fd, bytes, at: clusterOffset(allocation.first[id]),
                                 what: "FAT32 \(label) directory /\(tree.nodes[id].path)")
        }

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        var written: UInt64 = 0
        for id in tree.preOrder() where !tree.nodes[id].isDirectory && tree.nodes[id].size > 0 {
            let node = tree.nodes[id]
            let at = clusterOffset(allocation.first[id])
            try SourceReader.copy(node.source!, size: node.size, path: node.path, to: fd, at: at, buffer: buffer) { n in
                written += n
                progress?(written)
            }
            let tail = Int(allocation.count[id] * g.clusterBytes - node.size)
            if tail > 0 {
                try ByteIO.pwriteAll(fd, [UInt8](repeating: 0, count: tail), at: at + node.size, what: "FAT32 \(label) padding of \(node.path)")
            }
        }
    }
}
