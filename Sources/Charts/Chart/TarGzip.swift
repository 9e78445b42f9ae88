import CArchive
import Foundation

/// Reads the regular files of a gzip-compressed tar held in memory, through libarchive.
enum TarGzip {
    static func errorString(_ a: OpaquePointer) -> String {
        guard let p = archive_error_string(a) else { return "unknown archive error" }
        return String(cString: p)
    }

    static func read(_ data: [UInt8], source: String) throws -> [(String, [UInt8])] {
        guard let a = archive_read_new() else { throw ChartError.invalidChart(message: "cannot allocate an archive reader") }
        defer { archive_read_free(a) }
        archive_read_support_filter_gzip(a)
        archive_read_support_format_tar(a)
        var out: [(String, [UInt8])] = []
        try data.withUnsafeBytes { buf in
            guard archive_read_open_memory(a, buf.baseAddress, buf.count) == ARCHIVE_OK else {
                throw ChartError.invalidChart(message: "\(source): not a gzip-compressed chart archive: \(errorString(a))")
            }
            var entry: OpaquePointer?
            while true {
                let r = archive_read_next_header(a, &entry)
                if r == ARCHIVE_EOF { break }
                guard r == ARCHIVE_OK || r == ARCHIVE_WARN, let e = entry else {
                    throw ChartError.invalidChart(message: "\(source): \(errorString(a))")
                }
                guard archive_entry_filetype(e) == 0o100000, let cname = archive_entry_pathname(e) else { continue }
                let name = String(cString: cname)
                let size = Int(archive_entry_size(e))
                var bytes = [UInt8](repeating: 0, count: size)
                var got = 0
                while got < size {
                    let n = bytes.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress! + got, size - got) }
                    if n < 0 { throw ChartError.invalidChart(message: "\(source): \(errorString(a))") }
                    if n == 0 { break }
                    got += n
                }
                out.append((name, Array(bytes[0..<got])))
            }
        }
        return out
    }
}
