import Foundation
import OutpostCore
import Packaging

/// The meeting point of blob downloads and the package writer: downloads mark blobs ready, the writer
/// (on its own thread) waits for each blob before archiving it and then deletes it from staging.
/// A failed download wakes the writer with the download's own error.
final class BlobGate: StagedFileGate, @unchecked Sendable {
    private let condition = NSCondition()
    private var readyEntries = Set<String>()
    private var failure: (any Error)?
    private let staging: String

    init(staging: String) { self.staging = staging }

    func ready(_ entry: String) {
        condition.lock()
        readyEntries.insert(entry)
        condition.broadcast()
        condition.unlock()
    }

    func fail(_ error: any Error) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    func waitForFile(_ entry: String) throws {
        condition.lock()
        defer { condition.unlock() }
        while !readyEntries.contains(entry) {
            if let failure { throw failure }
            condition.wait()
        }
    }

    func fileArchived(_ entry: String) {
        // Temporary space stays near one package: an archived blob is not needed in staging any more.
        unlink(staging + "/" + entry)
    }
}

/// Runs blocking work (the archive writer: file reads, zstd) on its own thread, off Swift's cooperative pool.
func runOnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

