import Archiving
import Foundation
import OutpostCore
import Yams

/// Puts a component's Helm charts into the package as `charts/<name>-<version>.tgz`: local chart
/// directories are packaged reproducibly (entries under `<chart name>/`, sorted, zero mtimes, gzip without
/// a timestamp), Helm HTTP repositories are read through their `index.yaml`, git charts are packaged from
/// a clone's `gitPath`. OCI charts are pulled by the builder through the registry client.
public struct ChartStager: Sendable {
    public init() {}

    /// Name and version from a chart directory's Chart.yaml.
    public static func chartMetadata(directory: String) throws -> (name: String, version: String) {
        let path = directory + "/Chart.yaml"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw BuilderError.chart(name: directory, reason: "no Chart.yaml in \(directory)")
        }
        guard let doc = try Yams.load(yaml: text) as? [String: Any], let name = doc["name"] as? String else {
            throw BuilderError.chart(name: directory, reason: "\(path): missing name")
        }
        let version: String
        if let v = doc["version"] as? String { version = v } else if let v = doc["version"] { version = "\(v)" } else {
            throw BuilderError.chart(name: name, reason: "\(path): missing version")
        }
        return (name, version)
    }

    /// Packages a chart directory as a reproducible `.tgz` at `destination`, honouring `.helmignore`'s simple patterns.
    public func packageDirectory(_ directory: String, to destination: String) throws {
        let meta = try Self.chartMetadata(directory: directory)
        let ignore = Self.helmIgnore(directory)
        try AtomicFile.writeVia(path: destination) { tmp in
            let writer = try TarWriter(sink: try FileSink(path: tmp), context: destination, gzip: true)
            let fm = FileManager.default
            var rels: [String] = []
            if let walker = fm.enumerator(atPath: directory) {
                while let rel = walker.nextObject() as? String { rels.append(rel) }
            }
            for rel in rels.sorted() {
                if ignore.contains(where: { Self.matches(pattern: $0, path: rel) }) { continue }
                var isDir: ObjCBool = false
                _ = fm.fileExists(atPath: directory + "/" + rel, isDirectory: &isDir)
                if isDir.boolValue { continue }
                try writer.addFile(meta.name + "/" + rel, fromPath: directory + "/" + rel)
            }
            try writer.close()
        }
    }

    static func helmIgnore(_ directory: String) -> [String] {
        guard let text = try? String(contentsOfFile: directory + "/.helmignore", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// A small subset of .helmignore: `name`, `*.ext`, `dir/`, matched against each path component.
    static func matches(pattern: String, path: String) -> Bool {
        let p = pattern.hasSuffix("/") ? String(pattern.dropLast()) : pattern
        let components = path.split(separator: "/").map(String.init)
        return components.contains { fnmatch(p, $0, 0) == 0 } || fnmatch(p, path, 0) == 0
    }

    /// Finds `chartName` at `version` in a Helm HTTP repository and downloads it to `destination`.
    public func fetchFromRepository(url: String, chartName: String, version: String, to destination: String,
                                    scratch: String) async throws {
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let indexPath = scratch + "/index-\(UInt32.random(in: 0...UInt32.max)).yaml"
        defer { try? FileManager.default.removeItem(atPath: indexPath) }
        try await RemoteFetcher().fetch(base + "/index.yaml", to: indexPath)
        let text = try String(contentsOfFile: indexPath, encoding: .utf8)
        guard let index = try Yams.load(yaml: text) as? [String: Any], let entries = index["entries"] as? [String: Any] else {
            throw BuilderError.chart(name: chartName, reason: "\(base)/index.yaml is not a Helm repository index")
        }
        guard let versions = entries[chartName] as? [[String: Any]] else {
            throw BuilderError.chart(name: chartName, reason: "not found in \(base)/index.yaml")
        }
        guard let entry = versions.first(where: { "\($0["version"] ?? "")" == version }) else {
            let have = versions.compactMap { $0["version"].map { "\($0)" } }.prefix(10).joined(separator: ", ")
            throw BuilderError.chart(name: chartName, reason: "version \(version) not in \(base)/index.yaml (have: \(have))")
        }
        guard let urls = entry["urls"] as? [String], let first = urls.first else {
            throw BuilderError.chart(name: chartName, reason: "index entry \(version) has no urls")
        }
        let chartURL = RemoteFetcher.isURL(first) ? first : base + "/" + first
        try await RemoteFetcher().fetch(chartURL, to: destination, expectedSHA256: entry["digest"] as? String)
    }
}
