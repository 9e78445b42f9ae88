import Crypto
import Foundation
import OutpostCore
#if canImport(Glibc)
import Glibc
#endif

/// What `outpost media flash` did.
public struct MediaFlashResult: Sendable, Codable {
    public var image: String
    public var device: String
    public var bytes: UInt64
    public var sha256: String
    /// The device was read back and matched the image byte for byte.
    public var verified: Bool
}

/// Writes a medium to a USB stick (or a plain file) safely: a block device must be removable and have
/// no mounted filesystem (itself or any of its partitions, per /proc/self/mounts); the write is synced,
/// the device's cache dropped, and every byte read back and compared.
public enum MediaFlasher {
    /// Why a device may not be written, or nil when it may. `sysRoot`/`mountsFile` are for tests.
    public static func refusal(device: String, image: String, sysRoot: String = "/sys",
                               mountsFile: String = "/proc/self/mounts") -> String? {
        var st = stat()
        guard stat(device, &st) == 0 else { return "no such device (\(String(cString: strerror(errno))))" }
        let type = st.st_mode & S_IFMT
        if type == S_IFREG {
            var ist = stat()
            if stat(image, &ist) == 0, ist.st_dev == st.st_dev, ist.st_ino == st.st_ino { return "it is the image itself" }
            return nil
        }
        guard type == S_IFBLK else { return "neither a block device nor a regular file" }
        let real = URL(fileURLWithPath: device).resolvingSymlinksInPath().path
        let name = URL(fileURLWithPath: real).lastPathComponent
        let sys = "\(sysRoot)/class/block/\(name)"
        if FileManager.default.fileExists(atPath: sys + "/partition") {
            return "it is a partition; give the whole disk (e.g. /dev/sdb, not /dev/sdb1)"
        }
        let removable = (try? String(contentsOfFile: sys + "/removable", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        if removable != "1" {
            return "it is not a removable device (\(sys)/removable is \(removable ?? "unreadable")); Outpost only writes USB sticks and similar removable media"
        }
        // The disk's partitions: /sys/class/block/<disk>/<part>/partition.
        let partitions = ((try? FileManager.default.contentsOfDirectory(atPath: sys)) ?? []).filter {
            FileManager.default.fileExists(atPath: "\(sys)/\($0)/partition")
        }
        let ours = Set([name] + partitions)
        let mounts = (try? String(contentsOfFile: mountsFile, encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, fields[0].hasPrefix("/dev/") else { continue }
            let source = URL(fileURLWithPath: String(fields[0])).resolvingSymlinksInPath().lastPathComponent
            if ours.contains(source) {
                return "/dev/\(source) is mounted on \(fields[1].replacingOccurrences(of: "\\040", with: " ")); unmount it first"
            }
        }
        return nil
    }

    public static func flash(image: String, device: String, progress: ProgressReporter = SilentProgress()) throws -> MediaFlashResult {
        if let why = refusal(device: device, image: image) { throw MediaBuilderError.flash(device: device, reason: why) }
        let src = open(image, O_RDONLY | O_CLOEXEC)
        guard src >= 0 else { throw MediaBuilderError.io(path: image, reason: String(cString: strerror(errno))) }
        defer { close(src) }
        let size = UInt64(max(0, lseek(src, 0, SEEK_END)))
        var st = stat()
        stat(device, &st)
        let isFile = st.st_mode & S_IFMT == S_IFREG
        let dst = open(device, O_RDWR | O_CLOEXEC | (isFile ? O_TRUNC : 0))
        guard dst >= 0 else { throw MediaBuilderError.flash(device: device, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(dst) }
        if !isFile {
            let capacity = UInt64(max(0, lseek(dst, 0, SEEK_END)))
            guard capacity >= size else {
                throw MediaBuilderError.flash(device: device, reason: "the device holds \(capacity) bytes; the image needs \(size)")
            }
        }
        let bufSize = 4 << 20
        let a = UnsafeMutableRawPointer.allocate(byteCount: bufSize, alignment: 4096)
        let b = UnsafeMutableRawPointer.allocate(byteCount: bufSize, alignment: 4096)
        defer { a.deallocate(); b.deallocate() }
        var hasher = SHA256()
        progress.begin("writing \(device)", total: Int64(size), unit: .bytes)
        var off: UInt64 = 0
        while off < size {
            let n = try readFully(src, a, Int(min(UInt64(bufSize), size - off)), at: off, path: image)
            try writeFully(dst, a, n, at: off, device: device)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: a, count: n))
            off += UInt64(n)
            progress.advance("writing \(device)", by: Int64(n))
        }
        guard fsync(dst) == 0 else { throw MediaBuilderError.flash(device: device, reason: "fsync failed: \(String(cString: strerror(errno)))") }
        progress.end("writing \(device)")
        // Read back what the device holds, not what the page cache remembers.
        _ = posix_fadvise(dst, 0, 0, Int32(POSIX_FADV_DONTNEED))
        progress.begin("reading back \(device)", total: Int64(size), unit: .bytes)
        off = 0
        while off < size {
            let want = Int(min(UInt64(bufSize), size - off))
            let n = try readFully(src, a, want, at: off, path: image)
            let m = try readFully(dst, b, want, at: off, path: device)
            guard n == m, memcmp(a, b, n) == 0 else {
                var first = 0
                while first < min(n, m), a.load(fromByteOffset: first, as: UInt8.self) == b.load(fromByteOffset: first, as: UInt8.self) { first += 1 }
                throw MediaBuilderError.flash(device: device, reason: "read-back differs from the image at byte offset \(off + UInt64(first)): the device is faulty or was changed while writing")
            }
            off += UInt64(n)
            progress.advance("reading back \(device)", by: Int64(n))
        }
        progress.end("reading back \(device)")
        return MediaFlashResult(image: image, device: device, bytes: size, sha256: MediaBuilder.hex(hasher.finalize()), verified: true)
    }

    static func readFully(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ count: Int, at offset: UInt64, path: String) throws -> Int {
        var done = 0
        while done < count {
            let n = pread(fd, buf + done, count - done, off_t(offset + UInt64(done)))
            if n < 0 { if errno == EINTR { continue }; throw MediaBuilderError.io(path: path, reason: String(cString: strerror(errno))) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    static func writeFully(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ count: Int, at offset: UInt64, device: String) throws {
        var done = 0
        while done < count {
            let n = pwrite(fd, buf + done, count - done, off_t(offset + UInt64(done)))
            if n < 0 { if errno == EINTR { continue }; throw MediaBuilderError.flash(device: device, reason: "write failed at byte offset \(offset + UInt64(done)): \(String(cString: strerror(errno)))") }
            done += n
        }
    }
}
