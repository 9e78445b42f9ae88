import Foundation
import Injection
import OCI
import OutpostCore
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Shared, built-once inputs for the injection tests: the injector binary (through scripts/build-injector,
/// as CI does) and the seed registry image (images/registry/build). Both live under `.build/` and are
/// rebuilt only when their sources change.
actor InjectionFixtures {
    static let shared = InjectionFixtures()

    private var binary: String?
    private var layout: String?

    /// `.build/injector/outpost-injector`, built by the script.
    func injectorBinary() throws -> String {
        if let binary { return binary }
        let root = repositoryRoot()
        try ProcessRunner.run(root + "/scripts/build-injector", [], cwd: root, check: true)
        let path = root + "/.build/injector/outpost-injector"
        binary = path
        return path
    }

    /// An OCI layout holding the seed registry image as a package stores it
    /// (`docker.io/library/registry:<tag>`).
    func seedLayout() throws -> String {
        if let layout { return layout }
        let root = repositoryRoot()
        let dir = root + "/.build/test-fixtures/seed-registry-layout"
        let script = root + "/images/registry/build"
        let fm = FileManager.default
        let scriptDate = (try? fm.attributesOfItem(atPath: script)[.modificationDate] as? Date) ?? .distantFuture
        let builtDate = (try? fm.attributesOfItem(atPath: dir + "/index.json")[.modificationDate] as? Date) ?? .distantPast
        if builtDate < scriptDate {
            try? fm.removeItem(atPath: dir)
            try fm.createDirectory(atPath: root + "/.build/test-fixtures", withIntermediateDirectories: true)
            let tmp = dir + ".tmp-\(getpid())"
            try? fm.removeItem(atPath: tmp)
            try ProcessRunner.run(script, [tmp, Self.seedTag], check: true)
            try fm.moveItem(atPath: tmp, toPath: dir)
        }
        layout = dir
        return dir
    }

    static let seedTag = "2.8.2"
    static let seedReference = "docker.io/library/registry:2.8.2"
}

/// A planned injection in a temporary directory: chunks, manifests and plan.
struct PlannedInjection {
    let directory: String
    let result: InitPlanResult
    var chunks: String { directory + "/chunks" }
    var manifestDigest: String { result.images[0].digest.description }
}

/// Runs the planner over the seed layout into `dir`.
func planSeed(into dir: String, chunkSize: Int64 = ChunkPlan.defaultChunkSize) async throws -> PlannedInjection {
    let layout = try await InjectionFixtures.shared.seedLayout()
    let binary = try await InjectionFixtures.shared.injectorBinary()
    let request = InitPlanRequest(packageName: "init", architecture: "amd64",
                                  seedImages: [try ImageReference(parsing: InjectionFixtures.seedReference)],
                                  injectorBinary: binary, chunkSize: chunkSize)
    let result = try InitPlanner.plan(request, store: try LayoutStore(path: layout, create: false), outputDirectory: dir)
    return PlannedInjection(directory: dir, result: result)
}

/// A running injector process on a free loopback port.
struct RunningInjector {
    let service: BackgroundService
    let port: Int
    var host: String { "127.0.0.1:\(port)" }
}

/// Starts the injector over `chunks` and waits until `/v2/` answers; stops it after `body`.
func withInjector<T>(chunks: String, sha256: String, environment: [String: String] = [:],
                     _ body: (RunningInjector) async throws -> T) async throws -> T {
    let binary = try await InjectionFixtures.shared.injectorBinary()
    let port = try freeLoopbackPort()
    let log = chunks + "/../injector-\(port).log"
    let service = try BackgroundService(name: "outpost-injector", program: binary,
                                        arguments: [sha256, "127.0.0.1:\(port)"],
                                        environment: environment.merging(["ZARF_INJECTOR_INIT_ROOT": chunks]) { a, _ in a },
                                        logPath: log)
    defer { service.stop() }
    let deadline = Date().addingTimeInterval(30)
    var ready = false
    while Date() < deadline && service.process.isRunning {
        if let r = try? ProcessRunner.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/v2/"]),
           r.out == "200" { ready = true; break }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
    guard ready else { throw InjectorTestError.notReady(service.log) }
    return try await body(RunningInjector(service: service, port: port))
}

/// Runs the injector to completion over `chunks` (for the refusal cases) with a time limit.
func runInjectorExpectingExit(chunks: String, arguments: [String],
                              environment: [String: String] = [:]) async throws -> (status: Int32, stderr: String) {
    let binary = try await InjectionFixtures.shared.injectorBinary()
    let log = chunks + "/../injector-exit.log"
    let service = try BackgroundService(name: "outpost-injector", program: binary, arguments: arguments,
                                        environment: environment.merging(["ZARF_INJECTOR_INIT_ROOT": chunks]) { a, _ in a },
                                        logPath: log)
    defer { service.stop() }
    let deadline = Date().addingTimeInterval(30)
    while service.process.isRunning && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
    guard !service.process.isRunning else { throw InjectorTestError.stillRunning(service.log) }
    return (service.process.terminationStatus, service.log)
}

enum InjectorTestError: Error, CustomStringConvertible {
    case notReady(String)
    case stillRunning(String)
    var description: String {
        switch self {
        case .notReady(let log): return "injector never became ready: \(log)"
        case .stillRunning(let log): return "injector kept running: \(log)"
        }
    }
}

/// The SHA-256 of a file as `sha256sum` (an independent tool) computes it.
func sha256sum(_ path: String) throws -> String {
    let r = try ProcessRunner.run("sha256sum", [path], check: true)
    return String(r.out.prefix(64))
}
