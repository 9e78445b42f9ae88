import CLinux

/// Starts the kernel writing a file's data to disk while the file is still being produced, so the
/// closing `fsync` waits for the last few megabytes instead of the whole file. Without it a 400 MB
/// package spent its last 0.7 s with both cores idle, waiting in `fsync`. Used only for files that are
/// fsynced before their rename (`FileSink(syncOnFinish:)`, `package create --sync`).
public struct WriteBehind: Sendable {
    /// How much new data is left to the page cache before writeback of it is started.
    public static let stride: Int64 = 8 << 20
    private var started: Int64 = 0

    public init() {}

    /// Call after each write; `size` is how many bytes the file holds now. Writeback is only asked for
    /// (sync_file_range with SYNC_FILE_RANGE_WRITE), never waited on; a write error still surfaces at fsync.
    public mutating func wrote(fd: Int32, size: Int64) {
        guard size - started >= Self.stride else { return }
        _ = outpost_start_writeback(fd, started, size - started)
        started = size
    }

    /// For a new file on the same sink (a new part of a split package).
    public mutating func reset() { started = 0 }
}
