/// A regular file inside the payload tar: where its bytes start in the payload and how many there are.
struct TarEntry {
    let offset: Int
    let size: Int
}

/// Walks the tar headers of the payload (ustar, pax `x` records, GNU long names) without copying file
/// data, and returns every regular file by its normalised path.
func indexTar(_ payload: ChunkedPayload) throws(InjectorError) -> [Bytes: TarEntry] {
    var entries: [Bytes: TarEntry] = [:]
    var offset = 0
    var longName: Bytes? = nil
    var paxPath: Bytes? = nil
    var paxSize: Int? = nil
    var sawEnd = false
    while offset + 512 <= payload.size {
        let header = try payload.read(at: offset, count: 512)
        if header.allSatisfy({ $0 == 0 }) { sawEnd = true; break }
        guard checksumMatches(header) else {
            throw .malformed("tar header at byte offset \(offset) has a bad checksum (not a tar, or corrupt)")
        }
        let typeflag = header[156]
        guard let headerSize = parseOctal(header, 124, 12) else {
            throw .malformed("tar header at byte offset \(offset) has an unreadable size field")
        }
        let size = (typeflag == 48 || typeflag == 0) ? (paxSize ?? headerSize) : headerSize
        let dataStart = offset + 512
        guard size >= 0, dataStart + size <= payload.size else {
            throw .malformed("tar entry at byte offset \(offset) (\(size) bytes) runs past the end of the \(payload.size)-byte payload (truncated?)")
        }
        switch typeflag {
        case 120: // 'x': pax extended header for the next entry
            guard size <= 65536 else { throw .malformed("pax header at byte offset \(offset) is too large") }
            let records = try payload.read(at: dataStart, count: size)
            (paxPath, paxSize) = try parsePax(records, at: offset)
        case 103: // 'g': global pax header, nothing we need
            break
        case 76: // 'L': GNU long name for the next entry
            guard size <= 4096 else { throw .malformed("long name at byte offset \(offset) is too large") }
            var bytes = try payload.read(at: dataStart, count: size)
            while let last = bytes.last, last == 0 { bytes.removeLast() }
            longName = bytes
        default:
            var name: Bytes
            if let p = paxPath { name = p } else if let l = longName { name = l } else {
                name = cString(header, 0, 100)
                let isUstar = header[257] == 117 && header[258] == 115 && header[259] == 116 // "ust"
                if isUstar {
                    var prefix = cString(header, 345, 155)
                    if !prefix.isEmpty { prefix.append(47); name = prefix + name }
                }
            }
            if typeflag == 48 || typeflag == 0 { // regular file
                entries[normalisePath(name)] = TarEntry(offset: dataStart, size: size)
            }
            paxPath = nil
            paxSize = nil
            longName = nil
        }
        offset = dataStart + (size + 511) / 512 * 512
    }
    if !sawEnd {
        throw .malformed("the tar has no end-of-archive marker (\(payload.size) bytes; truncated?)")
    }
    return entries
}

private func checksumMatches(_ h: [UInt8]) -> Bool {
    guard let stored = parseOctal(h, 148, 8) else { return false }
    var sum = 0
    for i in 0..<512 { sum += (i >= 148 && i < 156) ? 32 : Int(h[i]) }
    return sum == stored
}

/// An octal numeric field (or GNU base-256 when the high bit is set).
private func parseOctal(_ h: [UInt8], _ start: Int, _ length: Int) -> Int? {
    if h[start] & 0x80 != 0 {
        var v = 0
        for i in 1..<length {
            guard v < (1 << 55) else { return nil }
            v = v << 8 | Int(h[start + i])
        }
        return v
    }
    var v = 0
    var seen = false
    for i in start..<(start + length) {
        let c = h[i]
        if c == 0 || c == 32 { if seen { break } else { continue } }
        guard c >= 48 && c <= 55 else { return nil }
        guard v < (1 << 58) else { return nil }
        v = v * 8 + Int(c - 48)
        seen = true
    }
    return v
}

private func cString(_ h: [UInt8], _ start: Int, _ length: Int) -> Bytes {
    var end = start
    while end < start + length && h[end] != 0 { end += 1 }
    return h.slice(start, end)
}

/// Parses pax records `LEN key=value\n`, returning the path and size overrides.
private func parsePax(_ r: [UInt8], at offset: Int) throws(InjectorError) -> (Bytes?, Int?) {
    var path: Bytes? = nil
    var size: Int? = nil
    var i = 0
    while i < r.count {
        if r[i] == 0 { break }
        var length = 0
        var j = i
        while j < r.count && r[j] >= 48 && r[j] <= 57 { length = length * 10 + Int(r[j] - 48); j += 1; if length > r.count { break } }
        guard j < r.count, r[j] == 32, length > 0, i + length <= r.count, r[i + length - 1] == 10 else {
            throw .malformed("pax header at byte offset \(offset) has a malformed record")
        }
        let record = r.slice(j + 1, i + length - 1)
        if let eq = record.firstIndex(of: 61) {
            let key = record.slice(0, eq)
            let value = record.from(eq + 1)
            if key.equals("path") { path = value }
            if key.equals("size") {
                var v = 0
                for c in value {
                    guard c >= 48 && c <= 57, v < (1 << 58) else {
                        throw .malformed("pax header at byte offset \(offset) has a bad size")
                    }
                    v = v * 10 + Int(c - 48)
                }
                size = v
            }
        }
        i += length
    }
    return (path, size)
}

/// Drops leading "./" and "/" so `./index.json` and `index.json` are the same entry.
private func normalisePath(_ name: Bytes) -> Bytes {
    var start = 0
    while true {
        if start + 1 < name.count && name[start] == 46 && name[start + 1] == 47 { start += 2 }
        else if start < name.count && name[start] == 47 { start += 1 }
        else { break }
    }
    return name.from(start)
}
