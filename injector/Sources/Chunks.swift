import CShim

/// The payload as the concatenation of its chunk files, read in place: nothing is copied or unpacked.
/// A byte range of the payload maps to one or more (chunk, offset, length) pieces, so a blob that
/// straddles two chunks is served from both files.
final class ChunkedPayload {
    struct Chunk {
        let name: Bytes
        let fd: Int32
        let start: Int   // offset of the chunk's first byte in the payload
        let size: Int
    }

    let directory: Bytes
    let chunks: [Chunk]
    let size: Int

    /// Finds `zarf-payload-NNN` in `directory`, checks the set is complete (000 up to the last, no gaps,
    /// no stray or renamed chunk files) and that every chunk but the last has the same size.
    init(directory: Bytes) throws(InjectorError) {
        self.directory = directory
        guard let dir = withCString(directory, { opendir($0) }) else {
            throw .chunks("cannot read payload directory \(directory): \(errnoText())")
        }
        var found: [(index: Int, name: Bytes)] = []
        var problem: Message? = nil
        while let entry = readdir(dir) {
            let cName = shim_dirent_name(entry)!
            let name = Bytes(UnsafeBufferPointer(start: UnsafeRawPointer(cName).assumingMemoryBound(to: UInt8.self), count: strlen(cName)))
            guard name.hasPrefix("zarf-payload-") else { continue }
            let suffix = name.from(13)
            var index = 0
            var digits = 0
            var valid = suffix.count >= 3 && suffix.count <= 6
            for c in suffix {
                if c < 48 || c > 57 { valid = false; break }
                index = index * 10 + Int(c - 48)
                digits += 1
            }
            if !valid {
                problem = "unexpected file \(name) in \(directory): payload chunks are named zarf-payload-NNN (a renamed or stray chunk?)"
                break
            }
            found.append((index, name))
        }
        closedir(dir)
        if let problem { throw .chunks(problem) }
        if found.isEmpty { throw .chunks("no payload chunks (zarf-payload-NNN) in \(directory)") }
        found.sort { $0.index < $1.index }
        for (position, item) in found.enumerated() {
            if item.index == position { continue }
            if item.index < position {
                throw .chunks("chunk number \(item.index) appears twice (\(found[position - 1].name) and \(item.name)) in \(directory)")
            }
            throw .chunks("chunk \(chunkName(position)) is missing from \(directory) (found \(found.count) chunks, the highest is \(found[found.count - 1].name))")
        }
        var chunks: [Chunk] = []
        var offset = 0
        for item in found {
            let path = directory + [47] + item.name
            let fd = withCString(path) { shim_open_read($0) }
            guard fd >= 0 else {
                let reason = errnoText()
                for c in chunks { close(c.fd) }
                throw .chunks("cannot open chunk \(path): \(reason)")
            }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & mode_t(S_IFMT)) == mode_t(S_IFREG) else {
                close(fd)
                for c in chunks { close(c.fd) }
                throw .chunks("chunk \(path) is not a regular file")
            }
            chunks.append(Chunk(name: item.name, fd: fd, start: offset, size: Int(st.st_size)))
            offset += Int(st.st_size)
        }
        let first = chunks[0].size
        for (i, c) in chunks.enumerated() {
            let isLast = i == chunks.count - 1
            if c.size == 0 {
                Self.closeAll(chunks)
                throw .chunks("chunk \(c.name) is empty (truncated?)")
            }
            if !isLast && c.size != first {
                Self.closeAll(chunks)
                throw .chunks("chunk \(c.name) is \(c.size) bytes but \(chunks[0].name) is \(first): only the last chunk may be shorter (truncated chunk, or an extra chunk after the last?)")
            }
            if isLast && c.size > first {
                Self.closeAll(chunks)
                throw .chunks("last chunk \(c.name) is \(c.size) bytes, larger than the chunk size \(first)")
            }
        }
        self.chunks = chunks
        self.size = offset
    }

    private static func closeAll(_ chunks: [Chunk]) { for c in chunks { close(c.fd) } }

    /// Hashes every chunk in order with SHA-256 and returns the hex digest.
    func sha256(accelerated: Bool) throws(InjectorError) -> Bytes {
        let bufferSize = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 64)
        defer { buffer.deallocate() }
        let hasher = SHA256Hasher(accelerated: accelerated)
        for c in chunks {
            var position = 0
            while position < c.size {
                let n = pread(c.fd, buffer, min(bufferSize, c.size - position), off_t(position))
                if n < 0 {
                    if shim_errno() == EINTR { continue }
                    throw .io("cannot read chunk \(c.name): \(errnoText())")
                }
                if n == 0 { throw .chunks("chunk \(c.name) shrank while being read (at byte \(position))") }
                hasher.update(UnsafeRawBufferPointer(start: buffer, count: n))
                position += n
            }
        }
        return hexString(hasher.finish())
    }

    /// The index of the chunk holding payload byte `offset`.
    func chunkIndex(containing offset: Int) -> Int {
        var lo = 0, hi = chunks.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if chunks[mid].start <= offset { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Reads `count` bytes at payload offset `offset` (across chunk boundaries).
    func read(at offset: Int, count: Int) throws(InjectorError) -> [UInt8] {
        guard offset >= 0, count >= 0, offset + count <= size else {
            throw .malformed("read of \(count) bytes at offset \(offset) is past the end of the \(size)-byte payload")
        }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        var failure: InjectorError? = nil
        out.withUnsafeMutableBytes { buf in
            while done < count {
                let c = chunks[chunkIndex(containing: offset + done)]
                let within = offset + done - c.start
                let want = min(count - done, c.size - within)
                let n = pread(c.fd, buf.baseAddress! + done, want, off_t(within))
                if n < 0 && shim_errno() == EINTR { continue }
                if n <= 0 { failure = .io("cannot read chunk \(c.name) at byte \(within): \(errnoText())"); return }
                done += n
            }
        }
        if let failure { throw failure }
        return out
    }
}

/// `zarf-payload-NNN` for chunk number `index`.
func chunkName(_ index: Int) -> Bytes {
    var name = Bytes("zarf-payload-")
    if index < 100 { name.append(48) }
    if index < 10 { name.append(48) }
    name.append(decimal: index)
    return name
}

/// Calls `body` with `bytes` as a NUL-terminated C string.
func withCString<T>(_ bytes: Bytes, _ body: (UnsafePointer<CChar>) -> T) -> T {
    var z = bytes
    z.append(0)
    return z.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
}
