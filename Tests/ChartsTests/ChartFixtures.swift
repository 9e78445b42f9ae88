import Charts
import Foundation
import TestSupport

/// Writes a small chart (path → content) into a directory.
func writeChart(_ dir: String, _ files: [String: String]) throws {
    for (path, content) in files {
        let full = dir + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(content.utf8).write(to: URL(fileURLWithPath: full))
    }
}

/// Renders a chart directory to `helm template` text.
func templateText(_ dir: String, values: Values.Options = .init(), options: RenderOptions = RenderOptions()) throws -> String {
    let r = try ChartRenderer.render(chartPath: dir, values: values, options: options)
    return try ChartRenderer.templateOutput(r, options: options)
}

/// The error text a failing render produces.
func renderError(_ dir: String, values: Values.Options = .init(), options: RenderOptions = RenderOptions()) -> String? {
    do {
        _ = try templateText(dir, values: values, options: options)
        return nil
    } catch {
        return "\(error)"
    }
}

/// Runs a body with a scratch directory that is removed afterwards (also on failure).
func withScratch<T>(_ body: (String) throws -> T) throws -> T {
    let dir = try makeTemporaryDirectory("charts-test")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}
