import Foundation

/// The one way long work reports progress. Libraries call it; the CLI renders it as a bar on a
/// terminal and ignores it otherwise (see `TerminalProgress` in the CLI).
public protocol ProgressReporter: Sendable {
    /// A named phase started (e.g. "pulling images"), with an optional total in `unit`s.
    func begin(_ phase: String, total: Int64?, unit: ProgressUnit)
    /// `amount` more units of the current phase are done.
    func advance(_ phase: String, by amount: Int64)
    /// A phase finished.
    func end(_ phase: String)
    /// A one-line status message (e.g. "skipped blob sha256:…: already present").
    func note(_ message: String)
}

public enum ProgressUnit: Sendable { case bytes, items }

/// Reports nothing: the default for library calls and non-terminal output.
public struct SilentProgress: ProgressReporter {
    public init() {}
    public func begin(_ phase: String, total: Int64?, unit: ProgressUnit) {}
    public func advance(_ phase: String, by amount: Int64) {}
    public func end(_ phase: String) {}
    public func note(_ message: String) {}
}
