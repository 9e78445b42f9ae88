import Foundation
import OutpostCore
import Packaging
import Registry

/// Fills `components/<name>/` in the staging directory with one component's files, charts, values,
/// manifests, kustomizations, data injections and git mirrors, named as Zarf names them
/// (../shared/reference/zarf-compat.md). Images are handled by `PackageCreator` for all components at once.
struct ComponentStager {
    let baseDirectory: String
    let componentRoot: String
    let scratch: String
    let progress: ProgressReporter
    let client: RegistryClient

    private func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : baseDirectory + "/" + path
    }

    private func mkdir(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func stage(_ component: ZarfComponent) async throws {
        try mkdir(componentRoot)
        try await stageFiles(component)
        try await stageCharts(component)
        try await stageManifests(component)
        try stageDataInjections(component)
        try stageRepos(component)
    }

    func stageFiles(_ component: ZarfComponent) async throws {
        for (idx, file) in (component.files ?? []).enumerated() {
            let dir = componentRoot + "/files/\(idx)"
            try mkdir(dir)
            let base = (file.target as NSString).lastPathComponent
            guard !base.isEmpty, base != "..", base != "." else {
                throw BuilderError.invalid("component \"\(component.name)\": files[\(idx)].target \"\(file.target)\" has no file name")
            }
            let dest = dir + "/" + base
            if RemoteFetcher.isURL(file.source) {
                try await RemoteFetcher().fetch(file.source, to: dest, expectedSHA256: file.shasum, progress: progress)
            } else {
                let src = resolve(file.source)
                guard FileManager.default.fileExists(atPath: src) else {
                    throw BuilderError.missingFile(file.source, component: component.name, field: "files[\(idx)].source")
                }
                var isDir: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: src, isDirectory: &isDir)
                if isDir.boolValue {
                    try FileManager.default.copyItem(atPath: src, toPath: dest)
                } else {
                    try RemoteFetcher.copyLocal(src, to: dest, expectedSHA256: file.shasum)
                }
            }
            if file.executable == true { chmod(dest, 0o755) }
        }
    }

    func stageCharts(_ component: ZarfComponent) async throws {
        for chart in component.charts ?? [] {
            let chartsDir = componentRoot + "/charts", valuesDir = componentRoot + "/values"
            try mkdir(chartsDir)
            var version = chart.version
            if let local = chart.localPath {
                let dir = resolve(local)
                guard FileManager.default.fileExists(atPath: dir + "/Chart.yaml") else {
                    throw BuilderError.missingFile(local + "/Chart.yaml", component: component.name, field: "charts[\(chart.name)].localPath")
                }
                let meta = try ChartStager.chartMetadata(directory: dir)
                if version == nil || version!.isEmpty { version = meta.version }
                try ChartStager().packageDirectory(dir, to: "\(chartsDir)/\(chart.name)-\(version!).tgz")
            } else if let url = chart.url {
                guard let v = version, !v.isEmpty else {
                    throw BuilderError.chart(name: chart.name, reason: "a chart from a URL needs a version")
                }
                let dest = "\(chartsDir)/\(chart.name)-\(v).tgz"
                if url.hasPrefix("oci://") {
                    try await OCIChartFetcher.fetch(url: url, version: v, to: dest, client: client, scratch: scratch, progress: progress)
                } else if url.hasSuffix(".git") || chart.gitPath != nil || url.contains(".git@") {
                    let clone = scratch + "/chart-git-\(UInt32.random(in: 0...UInt32.max))"
                    defer { try? FileManager.default.removeItem(atPath: clone) }
                    let folder = try GitMirror().mirror(url.contains("@") ? url : url + "@" + v, into: clone)
                    let dir = clone + "/" + folder + "/" + (chart.gitPath ?? "")
                    try ChartStager().packageDirectory(dir, to: dest)
                } else {
                    try await ChartStager().fetchFromRepository(url: url, chartName: chart.repoName ?? chart.name,
                                                              version: v, to: dest, scratch: scratch)
                }
            } else {
                throw BuilderError.chart(name: chart.name, reason: "needs localPath or url")
            }
            for (idx, values) in (chart.valuesFiles ?? []).enumerated() {
                try mkdir(valuesDir)
                let dest = "\(valuesDir)/\(chart.name)-\(version!)-\(idx)"
                if RemoteFetcher.isURL(values) {
                    try await RemoteFetcher().fetch(values, to: dest, progress: progress)
                } else {
                    let src = resolve(values)
                    guard FileManager.default.fileExists(atPath: src) else {
                        throw BuilderError.missingFile(values, component: component.name, field: "charts[\(chart.name)].valuesFiles[\(idx)]")
                    }
                    try RemoteFetcher.copyLocal(src, to: dest, expectedSHA256: nil)
                }
            }
        }
    }

    func stageManifests(_ component: ZarfComponent) async throws {
        for manifest in component.manifests ?? [] {
            let dir = componentRoot + "/manifests"
            try mkdir(dir)
            for (idx, file) in (manifest.files ?? []).enumerated() {
                let dest = "\(dir)/\(manifest.name)-\(idx).yaml"
                if RemoteFetcher.isURL(file) {
                    // Zarf's `url@shasum` form pins a remote manifest.
                    var url = file, sum: String? = nil
                    if let at = file.lastIndex(of: "@"), file[file.index(after: at)...].count == 64 {
                        url = String(file[..<at]); sum = String(file[file.index(after: at)...])
                    }
                    try await RemoteFetcher().fetch(url, to: dest, expectedSHA256: sum, progress: progress)
                } else {
                    let src = resolve(file)
                    guard FileManager.default.fileExists(atPath: src) else {
                        throw BuilderError.missingFile(file, component: component.name, field: "manifests[\(manifest.name)].files[\(idx)]")
                    }
                    try RemoteFetcher.copyLocal(src, to: dest, expectedSHA256: nil)
                }
            }
            for (idx, k) in (manifest.kustomizations ?? []).enumerated() {
                let path = RemoteFetcher.isURL(k) ? k : resolve(k)
                let rendered = try Kustomize.build(path, allowAnyDirectory: manifest.kustomizeAllowAnyDirectory ?? false)
                try AtomicFile.write(rendered, to: "\(dir)/kustomization-\(manifest.name)-\(idx).yaml")
            }
        }
    }

    func stageDataInjections(_ component: ZarfComponent) throws {
        for (idx, data) in (component.dataInjections ?? []).enumerated() {
            let src = resolve(data.source)
            guard FileManager.default.fileExists(atPath: src) else {
                throw BuilderError.missingFile(data.source, component: component.name, field: "dataInjections[\(idx)].source")
            }
            let dir = componentRoot + "/data/\(idx)"
            try mkdir(dir)
            try FileManager.default.copyItem(atPath: src, toPath: dir + "/" + (src as NSString).lastPathComponent)
        }
    }

    func stageRepos(_ component: ZarfComponent) throws {
        for repo in component.repos ?? [] {
            _ = try GitMirror().mirror(repo, into: componentRoot + "/repos")
        }
    }
}
