/// The sector map and the on-disk structures of one `ISO9660Image`: planned in two passes (record sizes
/// and Rock Ridge continuation areas first, which do not depend on positions; then LBAs), then written.
struct ISOLayout {
    static let sector = 2048

    struct Record {
        var name: [UInt8]
        var target: Int          // node whose extent the record points to
        var isDirectory: Bool
        var inline: [UInt8]      // SUSP bytes in the record (CE entry patched in at write time)
        var continuation: (sector: Int, offset: Int, bytes: [UInt8])?
        var length: Int {
            let base = 33 + name.count + (name.count % 2 == 0 ? 1 : 0)
            let n = base + inline.count + (continuation == nil ? 0 : 28)
            return n + n % 2
        }
    }

    let image: ISO9660Image
    var tree: FileTree { image.tree }
    var primaryRecords: [Int: [Record]] = [:]
    var jolietRecords: [Int: [Record]] = [:]
    /// Per primary directory: Rock Ridge continuation sectors, placed right after its extent (libarchive's
    /// reader only reads a CE area when its position reaches it just after the directory it belongs to).
    var continuationSectors: [Int: Int] = [:]
    var primaryPathTable: [(id: Int, parent: Int)] = []
    var jolietPathTable: [(id: Int, parent: Int)] = []
    // LBAs
    var hasBoot: Bool { image.efiBootImage != nil }
    var bootCatalogLBA = 0, lPrimary = 0, mPrimary = 0, lJoliet = 0, mJoliet = 0
    var primaryPTSize = 0, jolietPTSize = 0
    var continuationLBA: [Int: Int] = [:]
    var primaryDirLBA: [Int: Int] = [:], primaryDirSize: [Int: Int] = [:]
    var jolietDirLBA: [Int: Int] = [:], jolietDirSize: [Int: Int] = [:]
    var bootImageLBA = 0
    var fileLBA: [Int] = []
    var totalSectors = 0

    init(_ image: ISO9660Image) {
        self.image = image
        planRecords()
        primaryPathTable = pathTableOrder(image.primaryChildren)
        jolietPathTable = pathTableOrder(image.jolietChildren)
        primaryPTSize = primaryPathTable.reduce(0) { $0 + 8 + pathName($1.id, joliet: false).count + pathName($1.id, joliet: false).count % 2 }
        jolietPTSize = jolietPathTable.reduce(0) { $0 + 8 + pathName($1.id, joliet: true).count + pathName($1.id, joliet: true).count % 2 }
        assignLBAs()
    }

    static func sectors(_ bytes: Int) -> Int { (bytes + sector - 1) / sector }

    // MARK: Rock Ridge / SUSP entries

    static func both32(_ v: UInt32) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 8); ByteIO.put32(&b, 0, v); ByteIO.put32BE(&b, 4, v); return b
    }
    static func both16(_ v: UInt16) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 4); ByteIO.put16(&b, 0, v); ByteIO.put16BE(&b, 2, v); return b
    }
    static func entry(_ sig: String, _ body: [UInt8]) -> [UInt8] { Array(sig.utf8) + [UInt8(4 + body.count), 1] + body }

    func posixEntries(_ id: Int) -> [UInt8] {
        let node = tree.nodes[id]
        let mode: UInt32 = node.isDirectory ? 0o040555 : 0o100444
        let links: UInt32 = node.isDirectory ? 2 + UInt32(node.children.filter { tree.nodes[$0].isDirectory }.count) : 1
        let px = Self.entry("PX", Self.both32(mode) + Self.both32(links) + Self.both32(0) + Self.both32(0))
        let date = ISONames.recordDate(image.modificationTime)
        let tf = Self.entry("TF", [0x0E] + date + date + date)   // modify, access, attributes
        return px + tf
    }

    static func nameEntries(_ name: String) -> [UInt8] {
        let bytes = Array(name.utf8)
        var out: [UInt8] = []
        var i = 0
        repeat {
            let part = Array(bytes[i..<min(bytes.count, i + 250)])
            i += part.count
            out += entry("NM", [i < bytes.count ? 0x01 : 0x00] + part)
        } while i < bytes.count
        return out
    }

    static let extensionRecord: [UInt8] = {
        let id = Array("RRIP_1991A".utf8)
        let des = Array("THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS".utf8)
        let src = Array("PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.".utf8)
        return entry("ER", [UInt8(id.count), UInt8(des.count), UInt8(src.count), 1] + id + des + src)
    }()

    // MARK: pass 1: records and continuation areas

    mutating func planRecords() {
        var ceSector = 0, ceOffset = 0, ceUsed = false
        func place(_ name: [UInt8], _ target: Int, _ isDir: Bool, _ susp: [UInt8], forceContinuation: [UInt8] = []) -> Record {
            var r = Record(name: name, target: target, isDirectory: isDir, inline: susp, continuation: nil)
            let room = 255 - (33 + name.count + (name.count % 2 == 0 ? 1 : 0))
            if forceContinuation.isEmpty && susp.count <= room { return r }
            // Keep whole entries inline while they fit beside a CE entry; the rest goes to a continuation area.
            var inline: [UInt8] = [], rest: [UInt8] = []
            var at = 0
            while at < susp.count {
                let len = Int(susp[at + 2])
                if rest.isEmpty && inline.count + len + 28 <= room { inline += susp[at..<at + len] } else { rest += susp[at..<at + len] }
                at += len
            }
            rest += forceContinuation
            if ceOffset + rest.count > Self.sector { ceSector += 1; ceOffset = 0 }
            r.inline = inline
            r.continuation = (ceSector, ceOffset, rest)
            ceOffset += rest.count
            ceUsed = true
            return r
        }
        for id in tree.breadthFirst() {
            let node = tree.nodes[id]
            ceSector = 0; ceOffset = 0; ceUsed = false
            var records: [Record] = []
            let selfSUSP = (id == 0 ? Self.entry("SP", [0xBE, 0xEF, 0]) : []) + posixEntries(id)
            records.append(place([0], id, true, selfSUSP, forceContinuation: id == 0 ? Self.extensionRecord : []))
            records.append(place([1], id == 0 ? 0 : node.parent, true, posixEntries(id == 0 ? 0 : node.parent)))
            for child in image.primaryChildren[id] ?? [] {
                let c = tree.nodes[child]
                records.append(place(image.primaryNames[child], child, c.isDirectory, posixEntries(child) + Self.nameEntries(c.name)))
            }
            primaryRecords[id] = records
            continuationSectors[id] = ceUsed ? ceSector + 1 : 0
            var jr = [Record(name: [0], target: id, isDirectory: true, inline: [], continuation: nil),
                      Record(name: [1], target: id == 0 ? 0 : node.parent, isDirectory: true, inline: [], continuation: nil)]
            for child in image.jolietChildren[id] ?? [] {
                jr.append(Record(name: image.jolietNames[child], target: child, isDirectory: tree.nodes[child].isDirectory, inline: [], continuation: nil))
            }
            jolietRecords[id] = jr
        }
    }

    /// Directory byte size: records never cross a sector boundary.
    static func extentSize(_ records: [Record]) -> Int {
        var pos = 0
        for r in records {
            if pos % sector + r.length > sector { pos = (pos / sector + 1) * sector }
            pos += r.length
        }
        return sectors(pos) * sector
    }

    /// Directories level by level, siblings in identifier order, with 1-based parent numbers.
    func pathTableOrder(_ children: [Int: [Int]]) -> [(id: Int, parent: Int)] {
        var out: [(id: Int, parent: Int)] = [(0, 1)]
        var i = 0
        while i < out.count {
            for c in children[out[i].id] ?? [] where tree.nodes[c].isDirectory { out.append((c, i + 1)) }
            i += 1
        }
        return out
    }

    func pathName(_ id: Int, joliet: Bool) -> [UInt8] { id == 0 ? [0] : (joliet ? image.jolietNames[id] : image.primaryNames[id]) }

    // MARK: pass 2: LBAs

    mutating func assignLBAs() {
        var next = 16 + 1 + (hasBoot ? 1 : 0) + 1 + 1   // PVD, boot record, SVD, terminator
        if hasBoot { bootCatalogLBA = next; next += 1 }
        let pts = Self.sectors(primaryPTSize), jts = Self.sectors(jolietPTSize)
        lPrimary = next; next += pts
        mPrimary = next; next += pts
        lJoliet = next; next += jts
        mJoliet = next; next += jts
        for id in tree.breadthFirst() {
            let size = Self.extentSize(primaryRecords[id]!)
            primaryDirLBA[id] = next; primaryDirSize[id] = size; next += size / Self.sector
            continuationLBA[id] = next; next += continuationSectors[id]!
        }
        for id in tree.breadthFirst() {
            let size = Self.extentSize(jolietRecords[id]!)
            jolietDirLBA[id] = next; jolietDirSize[id] = size; next += size / Self.sector
        }
        if hasBoot { bootImageLBA = next; next += Self.sectors(Int(image.bootImageSize)) }
        fileLBA = [Int](repeating: 0, count: tree.nodes.count)
        for id in tree.preOrder() where !tree.nodes[id].isDirectory && tree.nodes[id].size > 0 {
            fileLBA[id] = next
            next += Self.sectors(Int(tree.nodes[id].size))
        }
        totalSectors = next
    }
}
